#include "ops/dropout.hpp"
