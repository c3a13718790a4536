// IDX images and labels, plain or gzip (the first bytes decide), and gunzip itself.
#include "data/idx.hpp"
#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace prism;
  const std::string path = fuzz::as_file(data, size, ".idx");
  fuzz::expect_only_errors([&] { data::read_idx_images(path); });
  fuzz::expect_only_errors([&] { data::read_idx_labels(path); });
  fuzz::expect_only_errors([&] {
    data::gunzip(std::string(reinterpret_cast<const char*>(data), size), "fuzz", size_t{1} << 24);
  });
  return 0;
}
