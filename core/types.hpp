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

// One class index per example (datasets, batches, the classification loss).
using Labels = std::vector<int32_t>;

}  // namespace prism
