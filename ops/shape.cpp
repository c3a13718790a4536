#include "ops/shape.hpp"

#include "core/profiler.hpp"

#include <algorithm>

namespace prism {

Variable reshape(const Variable& x, Shape shape) {
  profile::Scope scope("reshape");
  check_unsharded(x, "reshape");
  PRISM_CHECK(x.defined(), "reshape: undefined input");
  Tensor y = x.data().reshape(std::move(shape));  // a view, as Tensor::reshape
  Shape in_shape = x.shape();
  return Variable::make(y, {x}, [in_shape](std::vector<Variable>& in, const Tensor& gy) {
    in[0].add_grad(gy.reshape(in_shape));
  });
}

Variable flatten(const Variable& x) {
  profile::Scope scope("flatten");
  check_unsharded(x, "flatten");
  PRISM_CHECK(x.defined() && x.data().dim() >= 1,
              "flatten: needs at least one dimension, got " << to_string(x.shape()));
  return reshape(x, {x.shape()[0], -1});
}

namespace {
// Views a shape as [outer, size(axis), inner].
struct AxisSplit {
  int64_t outer = 1, inner = 1;
};
AxisSplit split_at(const Shape& s, int64_t axis) {
  AxisSplit a;
  for (int64_t i = 0; i < axis; ++i)
    a.outer *= s[i];
  for (size_t i = axis + 1; i < s.size(); ++i)
    a.inner *= s[i];
  return a;
}
}  // namespace

Variable concat(const std::vector<Variable>& xs, int64_t axis) {
  profile::Scope scope("concat");
  PRISM_CHECK(!xs.empty(), "concat: no inputs");
  const Shape& first = xs[0].shape();
  const int64_t dim = static_cast<int64_t>(first.size());
  PRISM_CHECK(axis >= -dim && axis < dim,
              "concat: axis " << axis << " out of range for shape " << to_string(first));
  if (axis < 0) axis += dim;
  if (axis == 1)  // joining channels: a sharded input's are not the ones it appears to hold
    for (const Variable& x : xs)
      check_unsharded(x, "concat on axis 1");
  Shape out_shape = first;
  out_shape[axis] = 0;
  for (const Variable& x : xs) {
    Shape s = x.shape();
    PRISM_CHECK(static_cast<int64_t>(s.size()) == dim, "concat: shapes " << to_string(first)
                                                                         << " and " << to_string(s)
                                                                         << " differ in rank");
    out_shape[axis] += s[axis];
    s[axis] = first[axis];
    PRISM_CHECK(s == first, "concat: shapes " << to_string(first) << " and " << to_string(x.shape())
                                              << " differ off axis " << axis);
  }
  const AxisSplit split = split_at(first, axis);
  Tensor y(out_shape);
  std::vector<int64_t> widths;  // elements per outer step, per input
  int64_t offset = 0;
  for (const Variable& x : xs) {
    const int64_t w = x.shape()[axis] * split.inner;
    const float* from = x.data().data();  // the variable keeps the storage alive
    for (int64_t o = 0; o < split.outer; ++o)
      std::copy_n(from + o * w, w, y.data() + o * out_shape[axis] * split.inner + offset);
    widths.push_back(w);
    offset += w;
  }
  const int64_t row = out_shape[axis] * split.inner;
  return Variable::make(y, xs, [widths, row, split](std::vector<Variable>& in, const Tensor& gy) {
    int64_t off = 0;
    for (size_t k = 0; k < in.size(); off += widths[k], ++k) {
      if (!in[k].requires_grad()) continue;
      Tensor g(in[k].shape());
      for (int64_t o = 0; o < split.outer; ++o)
        std::copy_n(gy.data() + o * row + off, widths[k], g.data() + o * widths[k]);
      in[k].add_grad(std::move(g));
    }
  });
}

Variable with_channel_shard(const Variable& x, ChannelShard shard) {
  PRISM_CHECK(x.defined() && x.data().dim() >= 2,
              "with_channel_shard: needs [N, C, ...], got " << shape_string(x));
  if (shard.sharded()) {
    PRISM_CHECK(shard.valid(),
                "with_channel_shard: a shard needs stride >= 1 and 0 <= offset <= "
                "end <= channels, got channels "
                    << shard.channels << ", stride " << shard.stride << ", offset " << shard.offset
                    << ", end " << shard.end);
    PRISM_CHECK(x.shape()[1] == shard.count(), "with_channel_shard: x "
                                                   << to_string(x.shape()) << " cannot hold "
                                                   << to_string(shard) << " (" << shard.count()
                                                   << " channels)");
  }
  if (shard.whole()) shard = ChannelShard{};  // channels 0, 1, ..., C - 1: every channel
  return Variable::make(
      x.data(), {x}, [](std::vector<Variable>& in, const Tensor& gy) { in[0].add_grad(gy); },
      shard);
}

Variable select_channels(const Variable& x, const std::vector<int64_t>& index) {
  profile::Scope scope("select_channels");
  check_unsharded(x, "select_channels");
  PRISM_CHECK(x.defined() && x.data().dim() >= 2,
              "select_channels: needs [N, C, ...], got " << to_string(x.shape()));
  const Shape& s = x.shape();
  const int64_t n = s[0], c = s[1], inner = numel_of(s) / std::max<int64_t>(n * c, 1);
  for (int64_t i : index)
    PRISM_CHECK(i >= 0 && i < c,
                "select_channels: index " << i << " out of range for " << c << " channels");
  Shape out_shape = s;
  out_shape[1] = static_cast<int64_t>(index.size());
  const int64_t k = out_shape[1];
  Tensor y(out_shape);
  const float* from = x.data().data();  // the variable keeps the storage alive
  for (int64_t b = 0; b < n; ++b)
    for (int64_t j = 0; j < k; ++j)
      std::copy_n(from + (b * c + index[j]) * inner, inner, y.data() + (b * k + j) * inner);
  return Variable::make(y, {x},
                        [index, n, c, k, inner](std::vector<Variable>& in, const Tensor& gy) {
                          Tensor g(in[0].shape());
                          for (int64_t b = 0; b < n; ++b)
                            for (int64_t j = 0; j < k; ++j) {
                              float* dst = g.data() + (b * c + index[j]) * inner;
                              const float* src = gy.data() + (b * k + j) * inner;
                              for (int64_t i = 0; i < inner; ++i)
                                dst[i] += src[i];
                            }
                          in[0].add_grad(std::move(g));
                        });
}

}  // namespace prism
