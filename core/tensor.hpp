// Tensor: fp32, N-d, contiguous row-major (NCHW for images), 64-byte aligned, its storage from
// the caching allocator (core/allocator.hpp).
// A Tensor is a handle: copies share storage; clone() makes an independent copy. Like a
// std::shared_ptr, const applies to the handle, not to the values: a const Tensor cannot be
// re-pointed, but data() and operator[] write through it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/types.hpp"

namespace prism {

// The most elements a tensor may have: its bytes must be addressable (2^61 floats).
inline constexpr int64_t kMaxTensorElements = PTRDIFF_MAX / sizeof(float);
// The product of the dimensions; a negative dimension or a product above kMaxTensorElements is
// an error.
int64_t numel_of(const Shape& shape);

class Tensor {
 public:
  Tensor() = default;            // undefined: no storage, defined() is false
  explicit Tensor(Shape shape);  // zero-filled
  // Uninitialized: for results whose every element is about to be written.
  static Tensor empty(Shape shape);

  static Tensor zeros(Shape shape) { return Tensor(std::move(shape)); }
  static Tensor full(Shape shape, float value);
  static Tensor ones(Shape shape) { return full(std::move(shape), 1.0f); }
  static Tensor scalar(float value) { return full({}, value); }
  // Copies `values` (row-major); their count must equal the shape's element count.
  static Tensor from(Shape shape, const std::vector<float>& values);

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int64_t dim() const { return static_cast<int64_t>(shape_.size()); }
  int64_t size(int64_t axis) const;  // negative axis counts from the end
  int64_t numel() const { return numel_; }

  float* data() const { return storage_.get(); }
  float& operator[](int64_t i) const { return storage_.get()[i]; }
  float item() const;  // the value of a one-element tensor

  Tensor clone() const;
  // Same storage, new shape; one dimension may be -1 (inferred).
  Tensor reshape(Shape shape) const;
  void fill(float value) const;
  void copy_from(const Tensor& other) const;  // same element count
  std::vector<float> to_vector() const;
  bool same_storage(const Tensor& other) const { return storage_ == other.storage_; }
  // No other handle (copy or view) shares this storage.
  bool sole_handle() const { return storage_.use_count() == 1; }
  // A tensor of `shape` over this one's elements [offset, offset + numel(shape)), sharing
  // storage (and keeping it alive). 64-byte aligned only when offset is a multiple of 16.
  Tensor view(int64_t offset, Shape shape) const;

 private:
  Shape shape_;
  int64_t numel_ = 0;
  std::shared_ptr<float> storage_;
};

// Tensors by name: a module's buffers, optimizer state, the entries of a parameter file.
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// In-place dst += src (same shape); used for gradient accumulation.
void add_inplace(const Tensor& dst, const Tensor& src);

// "[2, 3]" for error messages, or "undefined" for a tensor without storage.
std::string shape_string(const Tensor& t);

}  // namespace prism
