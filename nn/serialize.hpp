// Parameter files: a module's parameters and buffers, or any named tensors (optimizer state).
//
// Format, version 1, every number little-endian:
//
//   "PRSM"                     4 bytes, the magic
//   u32 version                1
//   u32 count                  number of entries
//   count times:
//     u32 name length, name bytes (UTF-8, no terminator; "0.W", "predictor.conv1.b", ...)
//     u32 ndim, i64 dims[ndim]
//     f32 data[dims[0] * ... * dims[ndim-1]]   (row-major; one value when ndim is 0)
//   u32 CRC-32 (zlib's crc32) of every byte before it
//
// Writing goes to "<path>.tmp.<pid>", which is then renamed to path, so a crash never leaves a
// half-written file under the final name. Reading checks the magic, the version, the structure
// (every length bounded by the bytes that remain, so a corrupt length never allocates much) and
// the CRC before returning anything. Every error is a prism::Error naming the file.
#pragma once

#include <string>

#include "nn/module.hpp"

namespace prism::nn {

// Every parameter (named_parameters()) then every buffer (named_buffers()).
void save_parameters(const Module& module, const std::string& path);
// The file must hold exactly the module's entries: the same names (in any order) with the same
// shapes. The first mismatch is an error naming the entry, e.g.
//   "conv1.W: file has [16, 1, 5, 5], model has [32, 1, 5, 5]".
// Everything is checked before the module changes, so after an error it is as it was.
void load_parameters(Module& module, const std::string& path);

// The general form underneath, e.g. for optimizer state:
//   save_tensors(optimizer.state(), "opt.prsm");  optimizer.load_state(load_tensors("opt.prsm"));
// Names must be non-empty and unique.
void save_tensors(const NamedTensors& entries, const std::string& path);
NamedTensors load_tensors(const std::string& path);

}  // namespace prism::nn
