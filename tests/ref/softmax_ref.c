/* float64 reference for softmax (placeholder until the op lands). */
#include "softmax_ref.h"
