// CIFAR binary records, with one label byte (CIFAR-10) and two (CIFAR-100).
#include "data/cifar.hpp"
#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace prism;
  const std::string path = fuzz::as_file(data, size, ".bin");
  fuzz::expect_only_errors([&] { data::read_cifar_file(path, 1, 10); });
  fuzz::expect_only_errors([&] { data::read_cifar_file(path, 2, 100); });
  return 0;
}
