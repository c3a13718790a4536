#include "ops/conv2d.hpp"
