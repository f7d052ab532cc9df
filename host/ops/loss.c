/* loss op (placeholder). */
#include "runtime.h"
