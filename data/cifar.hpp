// CIFAR-10 and CIFAR-100 in their binary versions (https://www.cs.toronto.edu/~kriz/cifar.html,
// the "binary version" archives, unpacked).
//
// CIFAR-10: data_batch_1.bin ... data_batch_5.bin (training) and test_batch.bin, each a run of
// 3073-byte records: the label (0-9), then 1024 red, 1024 green and 1024 blue bytes of a 32x32
// image, row by row. CIFAR-100: train.bin and test.bin, 3074-byte records: the coarse label
// (0-19), the fine label (0-99), then the image as above; the fine label is the one used (as
// Chainer's get_cifar100).
//
// Images become [N, 3, 32, 32] tensors scaled to [0, 1] (byte / 255). Every problem (a missing
// file, a length that is not a whole number of records, a label out of range) throws
// prism::Error naming the file.
#pragma once

#include <filesystem>

#include "data/dataset.hpp"

namespace prism::data {

// `dir` holds the files named above (e.g. the unpacked cifar-10-batches-bin folder).
TrainTest load_cifar10(const std::filesystem::path& dir);
TrainTest load_cifar100(const std::filesystem::path& dir);

// One file of records: `label_bytes` is 1 (CIFAR-10) or 2 (CIFAR-100: the last one is used),
// labels must be below num_classes.
std::shared_ptr<TensorDataset> read_cifar_file(const std::filesystem::path& path, int label_bytes,
                                               int32_t num_classes);

}  // namespace prism::data
