#include "data/dataset.hpp"

#include <algorithm>
#include <numeric>

#include "core/rng.hpp"

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

SubDataset::SubDataset(std::shared_ptr<const Dataset> base, std::vector<int64_t> indices)
    : base_(std::move(base)), indices_(std::move(indices)) {
  PRISM_CHECK(base_ != nullptr, "SubDataset: the base dataset is null");
  const int64_t n = base_->size();
  for (size_t i = 0; i < indices_.size(); ++i)
    PRISM_CHECK(indices_[i] >= 0 && indices_[i] < n,
                "SubDataset: index " << indices_[i] << " (position " << i << ") out of range for "
                                     << n << " examples");
}

Example SubDataset::get_example(int64_t i) const {
  return base_->get(indices_[static_cast<size_t>(i)]);
}

TransformDataset::TransformDataset(std::shared_ptr<const Dataset> base, Transform transform)
    : base_(std::move(base)), transform_(std::move(transform)) {
  PRISM_CHECK(base_ != nullptr && transform_ != nullptr,
              "TransformDataset: the base dataset and the transform must be given");
}

Example TransformDataset::get_example(int64_t i) const {
  return transform_(base_->get(i));
}

namespace {

Split split_order(std::shared_ptr<const Dataset> dataset, std::vector<int64_t> order,
                  int64_t first_size, const char* who) {
  PRISM_CHECK(dataset != nullptr, who << ": the dataset is null");
  const int64_t n = dataset->size();
  PRISM_CHECK(first_size >= 0 && first_size <= n,
              who << ": first_size " << first_size << " is outside [0, " << n << "]");
  std::vector<int64_t> second(order.begin() + first_size, order.end());
  order.resize(static_cast<size_t>(first_size));
  return {std::make_shared<SubDataset>(dataset, std::move(order)),
          std::make_shared<SubDataset>(dataset, std::move(second))};
}

std::vector<int64_t> identity_order(const std::shared_ptr<const Dataset>& dataset) {
  std::vector<int64_t> order(dataset ? static_cast<size_t>(dataset->size()) : 0);
  std::iota(order.begin(), order.end(), 0);
  return order;
}

}  // namespace

Split split_dataset(std::shared_ptr<const Dataset> dataset, int64_t first_size) {
  std::vector<int64_t> order = identity_order(dataset);
  return split_order(std::move(dataset), std::move(order), first_size, "split_dataset");
}

Split split_dataset_random(std::shared_ptr<const Dataset> dataset, int64_t first_size,
                           uint64_t seed) {
  Rng rng(seed);
  std::vector<int64_t> order = random_permutation(dataset ? dataset->size() : 0, rng);
  return split_order(std::move(dataset), std::move(order), first_size, "split_dataset_random");
}

}  // namespace prism::data
