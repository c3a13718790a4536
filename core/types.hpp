// The small value types every layer shares, declared once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace prism {

// A tensor's dimensions, outermost first.
using Shape = std::vector<int64_t>;

// "[2, 3, 4]"
std::string to_string(const Shape& shape);

// A height and a width (a kernel size, a stride, a padding): one number for both, as in
// conv2d(x, w, b, 2, 1), or a pair {h, w}, as in Convolution2D(3, 64, {3, 5}).
struct Size2 {
  int64_t h, w;
  Size2(int64_t both) : h(both), w(both) {}  // NOLINT: implicit, so one number reads as both
  Size2(int64_t h_, int64_t w_) : h(h_), w(w_) {}
  bool operator==(const Size2&) const = default;
};

// "3" when h == w, else "(3, 5)"
std::string to_string(Size2 size);

// One class index per example (datasets, batches, the classification loss).
using Labels = std::vector<int32_t>;

}  // namespace prism
