/* float64 reference for act (placeholder until the op lands). */
#include "act_ref.h"
