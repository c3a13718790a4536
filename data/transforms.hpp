// Whole-dataset transforms on in-memory image tensors.
#pragma once

#include <memory>

#include "data/dataset.hpp"

namespace prism::data {

// images [N, C, H, W] -> [N, C, H + 2 pad, W + 2 pad], the border filled with `value`
// (e.g. Fashion-MNIST's 28x28 to VGG16's 32x32 with pad 2).
Tensor pad_images(const Tensor& images, int64_t pad, float value = 0.0f);
std::shared_ptr<TensorDataset> pad_images(const TensorDataset& dataset, int64_t pad,
                                          float value = 0.0f);

// The first n examples (n <= size), sharing the images' storage: a quick smaller run.
std::shared_ptr<TensorDataset> first_examples(const TensorDataset& dataset, int64_t n);

}  // namespace prism::data
