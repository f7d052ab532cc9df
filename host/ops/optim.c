/* optim op (placeholder). */
#include "runtime.h"
