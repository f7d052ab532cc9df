/* float64 reference for loss (placeholder). */
#include "loss_ref.h"
typedef int loss_ref_placeholder;
