/* conv2d op (placeholder until implemented). */
#include "runtime.h"
