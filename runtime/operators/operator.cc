#include "runtime/operators/operator.h"
