// The PRSM archive: named tensors (parameter files, optimizer state) and integer arrays
// (training snapshots, see train/snapshot.hpp), in one checked file format.
//
// Format, version 2, every number little-endian:
//
//   "PRSM"                     4 bytes, the magic
//   u32 version                2
//   u32 count                  number of entries
//   count times:
//     u32 name length, name bytes (UTF-8, no terminator; "0.W", "predictor.conv1.b", ...)
//     u8 type                  0: an f32 tensor, 1: an i64 array
//     f32 tensor: u32 ndim, i64 dims[ndim],
//                 f32 data[dims[0] * ... * dims[ndim-1]]   (row-major; one value when ndim is 0)
//     i64 array:  u64 length, i64 values[length]
//   u32 CRC-32 (zlib's crc32) of every byte before it
//
// Version 1 files (no type byte: every entry an f32 tensor) are read as well.
//
// Writing goes to "<path>.tmp.<pid>", which is then renamed to path, so a crash never leaves a
// half-written file under the final name. Reading checks the magic, the version, the structure
// (every length bounded by the bytes that remain, so a corrupt length never allocates much) and
// the CRC before returning anything. Every error is a prism::Error naming the file.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.hpp"

namespace prism::io {

// Named tensors, e.g. optimizer state (io/parameters.hpp stores a module's this way):
//   save_tensors(optimizer.state(), "opt.prsm");  optimizer.load_state(load_tensors("opt.prsm"));
// Names must be non-empty and unique. load_tensors refuses a file with integer arrays.
void save_tensors(const NamedTensors& entries, const std::string& path);
NamedTensors load_tensors(const std::string& path);

// Tensors and integer arrays together; names unique across both. Integer arrays carry exact
// state that floats cannot (generator states, counters, example orders).
using NamedIntegers = std::vector<std::pair<std::string, std::vector<int64_t>>>;
struct Archive {
  NamedTensors tensors;
  NamedIntegers integers;
};
void save_archive(const Archive& archive, const std::string& path);
Archive load_archive(const std::string& path);

// The entry named `name` of an archive's tensors or integers, or null.
template <class V>
const V* find_entry(const std::vector<std::pair<std::string, V>>& entries,
                    const std::string& name) {
  for (const auto& [key, value] : entries)
    if (key == name) return &value;
  return nullptr;
}

// The same in memory: a file's bytes, e.g. to broadcast a snapshot. `where` starts every
// error message (e.g. "load_archive: result/snapshot_epoch_3").
std::string encode_archive(const Archive& archive, const std::string& where);
Archive decode_archive(const std::string& bytes, const std::string& where);

}  // namespace prism::io
