/* float64 reference for optim (placeholder). */
#include "optim_ref.h"
typedef int optim_ref_placeholder;
