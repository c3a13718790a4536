// IDX files (the MNIST format) and the MNIST-like datasets stored in them.
// Files may be plain or gzip-compressed (recognised by their first bytes 1f 8b, not their name).
// Every problem with a file (missing, corrupt gzip, bad header, wrong length) throws prism::Error
// naming the file and what was wrong.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "data/dataset.hpp"

namespace prism::data {

// Unsigned-byte images (magic 0x00000803, dims N, rows, cols) as a tensor [N, 1, rows, cols]
// with values scaled to [0, 1] (byte / 255).
Tensor read_idx_images(const std::filesystem::path& path);
// Unsigned-byte labels (magic 0x00000801, dim N).
Labels read_idx_labels(const std::filesystem::path& path);

// A whole gzip buffer (one member or several concatenated, as gzip allows), decompressed.
// Output beyond max_bytes is an error: a small file can claim gigabytes. Errors start with
// `where` and count offsets in the compressed bytes.
inline constexpr size_t kMaxGunzipBytes = size_t{4} << 30;
std::string gunzip(std::string_view gz, const std::string& where,
                   size_t max_bytes = kMaxGunzipBytes);
// Only the first n decompressed bytes (fewer if the data is shorter): to check a header before
// inflating the rest.
std::string gunzip_head(std::string_view gz, const std::string& where, size_t n);

// Loads train-{images-idx3,labels-idx1}-ubyte and t10k-{images-idx3,labels-idx1}-ubyte from
// `dir`, each either plain or with a .gz suffix (plain is tried first). Checks that each split
// has as many labels as images and that every label is in [0, num_classes).
TrainTest load_mnist_like(const std::filesystem::path& dir, int32_t num_classes = 10);

// Where Debian's fashion-mnist package puts the four .gz files.
inline constexpr const char* kDebianFashionMnistDir = "/usr/share/datasets/fashion-mnist";
TrainTest load_fashion_mnist(const std::filesystem::path& dir = kDebianFashionMnistDir);

}  // namespace prism::data
