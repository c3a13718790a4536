// decode_image: JPEG to libjpeg-turbo (data/jpeg_decode.cpp), the other formats to stb_image.
// stb_image is compiled into prism rather than taken from Debian's libstb, so the decoder gets the
// build's flags: the sanitizer builds and the fuzz target (fuzz/fuzz_image) check it too. Only
// PNG, BMP, TGA and GIF are compiled in; the rest of stb_image is attack surface nobody asked for.
#include "data/image_folder.hpp"

#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_NO_STDIO  // prism reads the file itself (read_file), with its own errors
#define STBI_ONLY_PNG
#define STBI_ONLY_BMP
#define STBI_ONLY_TGA
#define STBI_ONLY_GIF
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#include <stb_image.h>
#pragma GCC diagnostic pop

#include <algorithm>
#include <memory>

#include "core/error.hpp"
#include "data/image_decode.hpp"

namespace prism::data {

namespace {

// Reads a file's bytes as stb_image does: little-endian fields (big-endian in a PNG), zeros
// past the end.
struct FileBytes {
  const std::string& b;
  unsigned operator()(size_t i) const { return i < b.size() ? static_cast<uint8_t>(b[i]) : 0u; }
  unsigned u16(size_t i) const { return (*this)(i) | (*this)(i + 1) << 8; }
  uint32_t u32(size_t i) const { return u16(i) | uint32_t{u16(i + 2)} << 16; }
  uint32_t be32(size_t i) const {
    return uint32_t{(*this)(i)} << 24 | (*this)(i + 1) << 16 | (*this)(i + 2) << 8 | (*this)(i + 3);
  }
};

bool is_png(const std::string& b) {
  return b.starts_with("\x89PNG\r\n\x1a\n");
}

// stb_image reads zeros past the end of a BMP or TGA rather than failing, so a truncated one
// would decode with black rows. These give the bytes its pixels need, from the header read the
// way stb_image reads it (w x h as stbi_info found, within check_image_size).
bool is_bmp(const FileBytes& byte) {
  const uint32_t header = byte.u32(14);
  return byte(0) == 'B' && byte(1) == 'M' &&
         (header == 12 || header == 40 || header == 56 || header == 108 || header == 124);
}

int64_t bmp_bytes_needed(const FileBytes& byte, int64_t w, int64_t h) {
  const int64_t bits = byte.u32(14) == 12 ? byte.u16(24) : byte.u16(28);
  const int64_t row = (w * bits + 31) / 32 * 4;                       // rows are padded to 4 bytes
  return int64_t{byte.u32(10)} + row * (h - 1) + (w * bits + 7) / 8;  // the last row unpadded
}

int64_t tga_bytes_needed(const FileBytes& byte, int64_t w, int64_t h) {
  const bool indexed = byte(1) != 0, rle = byte(2) >= 8;
  const int64_t pixel = (byte(16) + 7) / 8;  // a pixel, or a palette index
  int64_t at = 18 + byte(0);                 // header, then the image id
  if (indexed) at += byte.u16(3) + int64_t{byte.u16(5)} * ((byte(7) + 7) / 8);  // palette
  if (!rle) return at + w * h * pixel;
  // Run-length packets: a count byte, then one pixel repeated or `count` literal pixels. Each
  // packet takes at least a byte, so this ends within the file (or just past it).
  const int64_t size = static_cast<int64_t>(byte.b.size());
  for (int64_t done = 0; done < w * h && at < size;) {
    const unsigned packet = byte(static_cast<size_t>(at));
    const int64_t count = std::min<int64_t>(1 + (packet & 127), w * h - done);
    at += 1 + (packet & 128 ? pixel : count * pixel);
    done += count;
  }
  return at;
}

// stb_image allocates a PNG's IDAT chunk at the length its header gives (up to 2 GiB) before it
// reads any of it. Every chunk (length, type, data, CRC) must fit in the file, up to IEND.
void check_png_chunks(const std::string& b, const std::string& where) {
  const FileBytes byte{b};
  size_t at = 8;  // past the signature
  while (at < b.size()) {
    const uint64_t length = byte.be32(at);
    PRISM_CHECK(at + 12 + length <= b.size(),
                where << " is truncated or corrupt: the PNG chunk at byte offset " << at
                      << " claims " << length << " bytes of data, " << b.size() - at
                      << " bytes are left for it with its 12 bytes of length, type and CRC");
    if (b.compare(at + 4, 4, "IEND") == 0) return;
    at += 12 + length;
  }
}

void check_not_truncated(const std::string& b, int64_t w, int64_t h, const std::string& where) {
  const FileBytes byte{b};
  if (is_png(b)) return check_png_chunks(b, where);
  if (b.starts_with("GIF8")) return;  // stb_image finds the end of GIF's data itself
  const bool bmp = is_bmp(byte);      // otherwise stb_image found a TGA, the one format left
  const int64_t needed = bmp ? bmp_bytes_needed(byte, w, h) : tga_bytes_needed(byte, w, h);
  PRISM_CHECK(needed <= static_cast<int64_t>(b.size()),
              where << " is truncated: its " << (bmp ? "BMP" : "TGA") << " header (" << w << " x "
                    << h << " pixels) needs " << needed << " bytes, the file has " << b.size());
}

// A PNG's width and height from its IHDR chunk, or false: stb_image refuses a PNG above its own
// bounds as no image at all, which would hide that the file claims too many pixels.
bool png_dimensions(const std::string& b, int64_t& w, int64_t& h) {
  if (b.size() < 24 || !is_png(b) || b.compare(12, 4, "IHDR") != 0) return false;
  const FileBytes byte{b};
  w = byte.be32(16), h = byte.be32(20);
  return true;
}

Tensor decode_with_stb(const std::string& bytes, int channels, const std::string& where) {
  const auto* data = reinterpret_cast<const stbi_uc*>(bytes.data());
  const int size = static_cast<int>(bytes.size());
  if (int64_t pw = 0, ph = 0; png_dimensions(bytes, pw, ph))
    check_image_size(pw, ph, bytes.size(), where);
  int w = 0, h = 0, comp = 0;
  PRISM_CHECK(stbi_info_from_memory(data, size, &w, &h, &comp),
              where << " is not a PNG, JPEG, BMP, TGA or GIF image (stb_image: "
                    << stbi_failure_reason() << ")");
  check_image_size(w, h, bytes.size(), where);
  check_not_truncated(bytes, w, h, where);
  std::unique_ptr<stbi_uc, void (*)(void*)> decoded(
      stbi_load_from_memory(data, size, &w, &h, &comp, channels), stbi_image_free);
  PRISM_CHECK(decoded != nullptr,
              where << " is corrupt or truncated (stb_image: " << stbi_failure_reason() << ")");
  return hwc_to_tensor(decoded.get(), h, w, channels);
}

}  // namespace

void check_image_size(int64_t w, int64_t h, size_t file_bytes, const std::string& where) {
  // Divided, not multiplied: a header's w and h may each be near 2^32.
  PRISM_CHECK(w > 0 && h > 0 && w <= kMaxImagePixels / h, where << " claims " << w << " x " << h
                                                                << " pixels, above the limit of "
                                                                << kMaxImagePixels);
  PRISM_CHECK(w * h <= kMaxPixelsPerByte * static_cast<int64_t>(file_bytes),
              where << " claims " << w << " x " << h << " pixels from " << file_bytes
                    << " bytes, more than any of its formats can compress to (" << kMaxPixelsPerByte
                    << " pixels per byte)");
}

Tensor decode_image(const std::string& bytes, int channels, const std::string& where) {
  PRISM_CHECK(channels == 1 || channels == 3, "decode_image: channels is 1 or 3, got " << channels);
  PRISM_CHECK(bytes.size() <= static_cast<size_t>(INT32_MAX), where << " is larger than 2 GiB");
  return is_jpeg(bytes) ? decode_jpeg(bytes, channels, where)
                        : decode_with_stb(bytes, channels, where);
}

Tensor hwc_to_tensor(const uint8_t* hwc, int64_t h, int64_t w, int channels) {
  Tensor img({channels, h, w});
  for (int64_t k = 0; k < channels; ++k)
    for (int64_t i = 0; i < h * w; ++i)
      img.data()[k * h * w + i] = static_cast<float>(hwc[i * channels + k]) / 255.0f;
  return img;
}

}  // namespace prism::data
