/* pool op (placeholder until implemented). */
#include "runtime.h"
