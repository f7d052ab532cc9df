/* float64 reference for dense (placeholder until the op lands). */
#include "dense_ref.h"
