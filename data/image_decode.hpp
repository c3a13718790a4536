// Inside data/: what decode_image (data/image_folder.hpp) is built from. JPEG goes to
// libjpeg-turbo (data/jpeg_decode.cpp); PNG, BMP, TGA and GIF to stb_image
// (data/image_decode.cpp).
#pragma once

#include <cstdint>
#include <string>

#include "core/tensor.hpp"

namespace prism::data {

// A header's width x height must be within kMaxImagePixels and kMaxPixelsPerByte per byte of
// the file; checked before the decoder allocates anything from it.
void check_image_size(int64_t width, int64_t height, size_t file_bytes, const std::string& where);

// A decoder's H x W x C bytes as a [C, H, W] tensor of floats in [0, 1].
Tensor hwc_to_tensor(const uint8_t* hwc, int64_t height, int64_t width, int channels);

bool is_jpeg(const std::string& bytes);
// channels: 1 (gray) or 3 (RGB). Corrupt, truncated or unsupported data is an error (libjpeg's
// warnings included: it would fill the missing rows with gray).
Tensor decode_jpeg(const std::string& bytes, int channels, const std::string& where);

}  // namespace prism::data
