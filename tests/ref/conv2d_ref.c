/* float64 reference for conv2d (placeholder until the op lands). */
#include "conv2d_ref.h"
