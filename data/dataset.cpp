#include "data/dataset.hpp"

#include <algorithm>

namespace prism::data {

Example Dataset::get(int64_t i) const {
  const int64_t n = size();
  PRISM_CHECK(i >= 0 && i < n,
              "Dataset::get: index " << i << " out of range for " << n << " examples");
  return get_example(i);
}

TensorDataset::TensorDataset(Tensor images, Labels labels)
    : images_(std::move(images)), labels_(std::move(labels)) {
  PRISM_CHECK(images_.defined() && images_.dim() >= 1,
              "TensorDataset: images must be a tensor [N, ...], got " << shape_string(images_));
  PRISM_CHECK(images_.size(0) == static_cast<int64_t>(labels_.size()),
              "TensorDataset: " << images_.size(0) << " images (shape "
                                << to_string(images_.shape()) << ") but " << labels_.size()
                                << " labels");
  example_shape_.assign(images_.shape().begin() + 1, images_.shape().end());
}

Example TensorDataset::get_example(int64_t i) const {
  Tensor x(example_shape_);
  const int64_t stride = x.numel();
  const float* row = images_.data() + i * stride;
  std::copy(row, row + stride, x.data());
  return {x, labels_[i]};
}

}  // namespace prism::data
