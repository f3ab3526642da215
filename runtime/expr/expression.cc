// placeholder until the expression language lands
#include "runtime/core/types.h"
