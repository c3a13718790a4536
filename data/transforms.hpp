// Transforms: whole in-memory datasets (pad_images, first_examples), and one image [C, H, W] at a
// time (normalize, pad_image, random_crop, random_flip), e.g. inside a TransformDataset. The
// random ones draw from the generator they are given, so one seed reproduces them.
#pragma once

#include <memory>
#include <vector>

#include "core/rng.hpp"

#include "data/dataset.hpp"

namespace prism::data {

// images [N, C, H, W] -> [N, C, H + 2 pad, W + 2 pad], the border filled with `value`
// (e.g. Fashion-MNIST's 28x28 to VGG16's 32x32 with pad 2).
Tensor pad_images(const Tensor& images, int64_t pad, float value = 0.0f);
std::shared_ptr<TensorDataset> pad_images(const TensorDataset& dataset, int64_t pad,
                                          float value = 0.0f);

// The first n examples (n <= size), copied, so that the whole set can be freed: a quick smaller
// run holds only what it uses.
std::shared_ptr<TensorDataset> first_examples(const TensorDataset& dataset, int64_t n);

// (x - mean[c]) / stddev[c] for each channel c; one value each, or one per channel.
Tensor normalize(const Tensor& image, const std::vector<float>& mean,
                 const std::vector<float>& stddev);
// [C, H, W] -> [C, H + 2 pad, W + 2 pad], the border filled with `value`.
Tensor pad_image(const Tensor& image, int64_t pad, float value = 0.0f);
// A height x width window at a uniformly drawn position (e.g. after pad_image(x, 4): CIFAR's
// usual augmentation). height <= H and width <= W.
Tensor random_crop(const Tensor& image, int64_t height, int64_t width, Rng& rng);
// Mirrored left to right with probability 1/2, else a copy.
Tensor random_flip(const Tensor& image, Rng& rng);

}  // namespace prism::data
