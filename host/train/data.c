/* data (placeholder). */
#include "runtime.h"
