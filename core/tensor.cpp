#include "core/tensor.hpp"

#include "core/allocator.hpp"
#include "core/parallel.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace prism {

int64_t numel_of(const Shape& shape) {
  for (int64_t d : shape)
    PRISM_CHECK(d >= 0, "tensor: negative dimension in shape " << to_string(shape));
  // A zero anywhere makes the product 0, however large the other dimensions are.
  if (std::find(shape.begin(), shape.end(), 0) != shape.end()) return 0;
  int64_t n = 1;
  for (int64_t d : shape) {
    PRISM_CHECK(d <= kMaxTensorElements / n, "tensor: shape " << to_string(shape)
                                                              << " has more than "
                                                              << kMaxTensorElements << " elements");
    n *= d;
  }
  return n;
}

Tensor::Tensor(Shape shape) : Tensor(empty(std::move(shape))) {
  std::memset(data(), 0, numel_ * sizeof(float));
}

Tensor Tensor::empty(Shape shape) {
  Tensor t;
  t.numel_ = numel_of(shape);
  t.shape_ = std::move(shape);
  t.storage_ = memory::allocate_array<float>(t.numel_);
  return t;
}

Tensor Tensor::full(Shape shape, float value) {
  Tensor t = empty(std::move(shape));
  t.fill(value);
  return t;
}

Tensor Tensor::from(Shape shape, const std::vector<float>& values) {
  Tensor t = empty(std::move(shape));
  PRISM_CHECK(static_cast<int64_t>(values.size()) == t.numel(),
              "tensor: " << values.size() << " values given for shape " << to_string(t.shape()));
  std::copy(values.begin(), values.end(), t.data());
  return t;
}

int64_t Tensor::size(int64_t axis) const {
  int64_t d = dim();
  PRISM_CHECK(axis >= -d && axis < d,
              "tensor: axis " << axis << " out of range for shape " << to_string(shape_));
  return shape_[axis < 0 ? axis + d : axis];
}

float Tensor::item() const {
  PRISM_CHECK(defined() && numel_ == 1,
              "tensor: item() needs exactly one element, shape is " << to_string(shape_));
  return data()[0];
}

Tensor Tensor::clone() const {
  if (!defined()) return {};
  Tensor t = empty(shape_);
  std::copy(data(), data() + numel_, t.data());
  return t;
}

Tensor Tensor::reshape(Shape shape) const {
  PRISM_CHECK(defined(), "reshape: tensor is undefined");
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      PRISM_CHECK(infer < 0, "reshape: more than one -1 in " << to_string(shape));
      infer = static_cast<int64_t>(i);
    } else {
      PRISM_CHECK(shape[i] >= 0, "reshape: bad dimension in " << to_string(shape));
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    PRISM_CHECK(known > 0 && numel_ % known == 0,
                "reshape: cannot reshape " << to_string(shape_) << " to " << to_string(shape));
    shape[infer] = numel_ / known;
    known *= shape[infer];
  }
  PRISM_CHECK(known == numel_,
              "reshape: cannot reshape " << to_string(shape_) << " to " << to_string(shape));
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

void Tensor::fill(float value) const {
  std::fill(data(), data() + numel_, value);
}

void Tensor::copy_from(const Tensor& other) const {
  PRISM_CHECK(other.numel() == numel_,
              "copy_from: shape " << to_string(other.shape()) << " into " << to_string(shape_));
  std::copy(other.data(), other.data() + numel_, data());
}

std::vector<float> Tensor::to_vector() const {
  if (!defined()) return {};
  return std::vector<float>(data(), data() + numel_);
}

Tensor Tensor::view(int64_t offset, Shape shape) const {
  PRISM_CHECK(defined(), "view: tensor is undefined");
  const int64_t count = numel_of(shape);
  PRISM_CHECK(offset >= 0 && count >= 0 && offset + count <= numel_,
              "view: elements [" << offset << ", " << offset + count << ") of " << to_string(shape)
                                 << " are outside a tensor of " << numel_ << " elements");
  Tensor t;
  t.shape_ = std::move(shape);
  t.numel_ = count;
  t.storage_ = std::shared_ptr<float>(storage_, storage_.get() + offset);  // aliasing
  return t;
}

void add_inplace(const Tensor& dst, const Tensor& src) {
  PRISM_CHECK(dst.shape() == src.shape(), "add_inplace: shapes " << to_string(dst.shape())
                                                                 << " and "
                                                                 << to_string(src.shape()));
  float* d = dst.data();
  const float* s = src.data();
  const int64_t n = dst.numel();
#pragma omp parallel for simd schedule(static) if (n >= kParallelElements)
  for (int64_t i = 0; i < n; ++i)
    d[i] += s[i];
}

std::string shape_string(const Tensor& t) {
  return t.defined() ? to_string(t.shape()) : "undefined";
}

}  // namespace prism
