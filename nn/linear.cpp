#include "nn/linear.hpp"

#include "ops/linear.hpp"
#include "ops/shape.hpp"

namespace prism::nn {

Linear::Linear(int64_t in_size, int64_t out_size, bool nobias)
    : in_size_(in_size), out_size_(out_size) {
  PRISM_CHECK(in_size > 0 && out_size > 0, "Linear: sizes must be positive, got in_size "
                                               << in_size << ", out_size " << out_size);
  W_ = register_parameter("W", lecun_normal({out_size, in_size}, in_size));
  if (!nobias) b_ = register_parameter("b", Tensor::zeros({out_size}));
}

Variable Linear::forward(const Variable& x) {
  PRISM_CHECK(x.defined() && x.data().dim() >= 2 && x.data().numel() == x.shape()[0] * in_size_,
              "Linear: expected x [N, " << in_size_ << "] (or [N, ...] with " << in_size_
                                        << " values per sample), got " << shape_string(x));
  return linear(x.data().dim() == 2 ? x : reshape(x, {x.shape()[0], in_size_}), W_, b_);
}

}  // namespace prism::nn
