#include "core/types.hpp"

namespace prism {

std::string to_string(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

std::string to_string(Size2 size) {
  std::string s = std::to_string(size.h);
  if (size.h == size.w) return s;
  s.insert(0, 1, '(');  // not "(" + ...: GCC 12 warns wrongly about that concatenation
  s += ", ";
  s += std::to_string(size.w);
  s += ')';
  return s;
}

}  // namespace prism
