/* float64 reference for pool (placeholder until the op lands). */
#include "pool_ref.h"
