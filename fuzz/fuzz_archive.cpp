// Parameter files and snapshots (the PRSM archive), decoded from memory.
#include "fuzz_input.hpp"
#include "io/archive.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace prism;
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  fuzz::expect_only_errors([&] { io::decode_archive(bytes, "fuzz"); });
  return 0;
}
