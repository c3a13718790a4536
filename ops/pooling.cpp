#include "ops/pooling.hpp"
