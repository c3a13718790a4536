// Inside data/: what decode_image (data/image_folder.hpp) is built from. JPEG goes to
// libjpeg-turbo (data/jpeg_decode.cpp); PNG, BMP, TGA and GIF to stb_image
// (data/image_decode.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace prism::data {

// Decoded 8-bit pixels, row-major height x width x channels.
struct Pixels {
  std::vector<uint8_t> hwc;
  int64_t height = 0;
  int64_t width = 0;
};

// A header's width x height must be within kMaxImagePixels and kMaxPixelsPerByte per byte of
// the file; checked before the decoder allocates anything from it.
void check_image_size(int64_t width, int64_t height, size_t file_bytes, const std::string& where);

bool is_jpeg(const std::string& bytes);
// channels: 1 (gray) or 3 (RGB). Corrupt, truncated or unsupported data is an error (libjpeg's
// warnings included: it would fill the missing rows with gray).
Pixels decode_jpeg(const std::string& bytes, int channels, const std::string& where);

}  // namespace prism::data
