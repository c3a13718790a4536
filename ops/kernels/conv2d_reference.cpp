#include "ops/kernels/conv2d_reference.hpp"
