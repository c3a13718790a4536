#include "ops/batch_normalization.hpp"
