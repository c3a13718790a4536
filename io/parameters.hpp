// Parameter files: a module's parameters and buffers in a PRSM archive (io/archive.hpp).
#pragma once

#include <string>

#include "nn/module.hpp"

namespace prism::io {

// Every parameter (named_parameters()) then every buffer (named_buffers()).
void save_parameters(const nn::Module& module, const std::string& path);
// The file must hold exactly the module's entries: the same names (in any order) with the same
// shapes. The first mismatch is an error naming the entry, e.g.
//   "conv1.W: file has [16, 1, 5, 5], model has [32, 1, 5, 5]".
// Everything is checked before the module changes, so after an error it is as it was.
void load_parameters(nn::Module& module, const std::string& path);

}  // namespace prism::io
