// Replicated state in a model-parallel model: every parameter and buffer that is not a rank's
// slice (BatchNormalization, Linear, serial convolutions) must be equal on every rank, so that
// the ranks compute the same replicated layers.
#pragma once

#include "dist/communicator.hpp"
#include "nn/module.hpp"

namespace prism::nn {

// Copies rank `root`'s replicated parameters and buffers to every rank; call it once after
// building the model. Names and shapes must agree on every rank.
void broadcast_replicated(const dist::Communicator& comm, const Module& module, int root = 0);

// Hashes every replicated parameter and buffer (bitwise) and compares across ranks; throws
// prism::Error on every rank naming the first entry that differs and the ranks that disagree.
void check_replicated(const dist::Communicator& comm, const Module& module);

}  // namespace prism::nn
