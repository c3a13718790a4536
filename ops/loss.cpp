#include "ops/loss.hpp"
