// placeholder until the file connector lands
#include "runtime/operators/operator.h"
