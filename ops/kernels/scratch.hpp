// Scratch memory for kernels that overwrite it before reading: 64-byte aligned (whole cache
// lines for vector loads), not zeroed, from the caching allocator like tensors (so a step's
// repeated scratch costs no page faults).
#pragma once

#include <cstdint>
#include <memory>

namespace prism::kernels {

class Scratch {
 public:
  explicit Scratch(int64_t floats);  // throws prism::Error when out of memory
  float* get() const { return data_.get(); }

 private:
  std::shared_ptr<float> data_;
};

}  // namespace prism::kernels
