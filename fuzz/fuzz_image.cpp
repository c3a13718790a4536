// Images through stb_image (PNG, JPEG, BMP, TGA, GIF), as gray and as RGB, and resized.
#include "data/image_folder.hpp"
#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace prism;
  const std::string path = fuzz::as_file(data, size, ".img");
  fuzz::expect_only_errors([&] { data::read_image(path, {.channels = 3}); });
  fuzz::expect_only_errors(
      [&] { data::read_image(path, {.channels = 1, .height = 5, .width = 3}); });
  return 0;
}
