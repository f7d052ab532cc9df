/* rng (placeholder). */
#include "runtime.h"
