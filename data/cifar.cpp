#include "data/cifar.hpp"

#include <algorithm>
#include <vector>

#include "core/error.hpp"
#include "core/file.hpp"

namespace prism::data {

namespace fs = std::filesystem;

namespace {

constexpr int64_t kPixels = 3 * 32 * 32;

// The records of several files as one dataset.
std::shared_ptr<TensorDataset> read_files(const std::vector<fs::path>& paths, int label_bytes,
                                          int32_t num_classes) {
  std::vector<std::string> files;
  int64_t n = 0;
  const int64_t record = label_bytes + kPixels;
  for (const fs::path& path : paths) {
    files.push_back(read_file(path.string(), "load_cifar"));
    const auto size = static_cast<int64_t>(files.back().size());
    PRISM_CHECK(size > 0 && size % record == 0, "load_cifar: " << path.string() << " holds " << size
                                                               << " bytes, not a whole number of "
                                                               << record << "-byte records");
    n += size / record;
  }
  Tensor images({n, 3, 32, 32});
  Labels labels(static_cast<size_t>(n));
  int64_t i = 0;
  for (size_t f = 0; f < files.size(); ++f) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(files[f].data());
    for (int64_t r = 0; r < static_cast<int64_t>(files[f].size()) / record; ++r, ++i) {
      const unsigned char* rec = bytes + r * record;
      const int32_t label = rec[label_bytes - 1];
      PRISM_CHECK(label < num_classes, "load_cifar: " << paths[f].string() << ": record " << r
                                                      << " has label " << label << ", outside [0, "
                                                      << num_classes - 1 << "]");
      labels[static_cast<size_t>(i)] = label;
      std::transform(rec + label_bytes, rec + record, images.data() + i * kPixels,
                     [](unsigned char b) { return static_cast<float>(b) / 255.0f; });
    }
  }
  return std::make_shared<TensorDataset>(std::move(images), std::move(labels));
}

}  // namespace

std::shared_ptr<TensorDataset> read_cifar_file(const fs::path& path, int label_bytes,
                                               int32_t num_classes) {
  PRISM_CHECK(label_bytes == 1 || label_bytes == 2,
              "read_cifar_file: label_bytes is 1 or 2, got " << label_bytes);
  return read_files({path}, label_bytes, num_classes);
}

TrainTest load_cifar10(const fs::path& dir) {
  std::vector<fs::path> train;
  for (int b = 1; b <= 5; ++b)
    train.push_back(dir / ("data_batch_" + std::to_string(b) + ".bin"));
  return {read_files(train, 1, 10), read_files({dir / "test_batch.bin"}, 1, 10)};
}

TrainTest load_cifar100(const fs::path& dir) {
  return {read_files({dir / "train.bin"}, 2, 100), read_files({dir / "test.bin"}, 2, 100)};
}

}  // namespace prism::data
