// Scratch memory for kernels that overwrite it before reading: 64-byte aligned (whole cache
// lines for vector loads), not zeroed.
#pragma once

#include <cstdint>
#include <memory>

namespace prism::kernels {

class Scratch {
 public:
  explicit Scratch(int64_t floats);  // throws prism::Error when out of memory
  float* get() const { return data_.get(); }

 private:
  struct Free {
    void operator()(float* p) const;
  };
  std::unique_ptr<float[], Free> data_;
};

}  // namespace prism::kernels
