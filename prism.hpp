// prism: everything a training program needs, in one include.
#pragma once

#include "core/autograd.hpp"
#include "core/error.hpp"
#include "core/parallel.hpp"
#include "core/rng.hpp"
#include "core/tensor.hpp"
#include "ops/activation.hpp"
#include "ops/arithmetic.hpp"
#include "ops/batch_normalization.hpp"
#include "ops/conv2d.hpp"
#include "ops/dropout.hpp"
#include "ops/linear.hpp"
#include "ops/loss.hpp"
#include "ops/pooling.hpp"
#include "ops/shape.hpp"
