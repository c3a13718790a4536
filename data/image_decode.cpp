// stb_image compiled into prism rather than taken from Debian's libstb: the decoder then gets
// the build's flags, so the sanitizer builds and the fuzz targets (fuzz/fuzz_image) check it
// too. Only the formats an image folder holds are compiled in; the rest of stb_image is attack
// surface nobody asked for.
#include "data/image_folder.hpp"

#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_NO_STDIO  // prism reads the file itself (read_file), with its own errors
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
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

namespace prism::data {

namespace {

// The file's bytes as stb_image reads them: little-endian fields, zeros past the end.
struct Bytes {
  const std::string& b;
  unsigned operator()(size_t i) const { return i < b.size() ? static_cast<uint8_t>(b[i]) : 0u; }
  unsigned u16(size_t i) const { return (*this)(i) | (*this)(i + 1) << 8; }
  uint32_t u32(size_t i) const { return u16(i) | uint32_t{u16(i + 2)} << 16; }
};

// Debian 12's stb_image (2.27) writes past its Huffman tables when a JPEG's DHT segment lists
// more than 256 codes (upstream fixed it in 2.28), already while reading the header for
// stbi_info. This walks the JPEG's segments the way stb_image reads them and refuses such a table
// first. A valid JPEG never has one: a table holds at most 256 symbols.
void check_jpeg_huffman_tables(const std::string& b, const std::string& where) {
  const Bytes byte{b};
  // stb_image's JPEG starts with 0xFF, any more 0xFF fill bytes, then 0xD8 (start of image).
  if (byte(0) != 0xFF) return;
  size_t i = 1;
  while (i < b.size() && byte(i) == 0xFF)
    ++i;
  if (byte(i) != 0xD8) return;
  ++i;
  while (i + 1 < b.size()) {
    const unsigned marker = byte(i + 1);
    // Entropy-coded data, fill bytes, stuffed zeros, restart markers: no segment to read.
    if (byte(i) != 0xFF || marker == 0xFF || marker == 0x00 || (marker >= 0xD0 && marker <= 0xD7)) {
      i += byte(i) == 0xFF && marker != 0xFF ? 2 : 1;
      continue;
    }
    if (marker == 0xD9) return;                            // end of image
    const size_t length = byte(i + 2) << 8 | byte(i + 3);  // counts its own two bytes
    if (marker == 0xC4) {
      // Tables follow one another: a class/id byte, 16 code counts, then that many symbols.
      int64_t left = static_cast<int64_t>(length) - 2;
      size_t p = i + 4;
      while (left > 0) {
        unsigned n = 0;
        for (size_t k = 1; k <= 16; ++k)
          n += byte(p + k);
        PRISM_CHECK(n <= 256, where << " is a corrupt JPEG: the Huffman table at byte offset " << p
                                    << " lists " << n << " codes, at most 256 are possible");
        p += 17 + n;
        left -= 17 + static_cast<int64_t>(n);
      }
      if (left != 0) return;  // stb_image stops here with an error of its own
    }
    i += 2 + length;
  }
}

// stb_image reads zeros past the end of a BMP or TGA rather than failing, so a truncated one
// would decode with black rows. These give the bytes its pixels need, from the header read the
// way stb_image reads it (w x h as stbi_info found, below kMaxImagePixels).
bool is_bmp(const Bytes& byte) {
  const uint32_t header = byte.u32(14);
  return byte(0) == 'B' && byte(1) == 'M' &&
         (header == 12 || header == 40 || header == 56 || header == 108 || header == 124);
}

int64_t bmp_bytes_needed(const Bytes& byte, int64_t w, int64_t h) {
  const int64_t bits = byte.u32(14) == 12 ? byte.u16(24) : byte.u16(28);
  const int64_t row = (w * bits + 31) / 32 * 4;                       // rows are padded to 4 bytes
  return int64_t{byte.u32(10)} + row * (h - 1) + (w * bits + 7) / 8;  // the last row unpadded
}

int64_t tga_bytes_needed(const Bytes& byte, int64_t w, int64_t h) {
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

void check_size(const std::string& b, int64_t w, int64_t h, const std::string& where) {
  const Bytes byte{b};
  const bool png = b.starts_with("\x89PNG"), gif = b.starts_with("GIF8"),
             jpeg = byte(0) == 0xFF;  // the three compressed formats check their own ends
  if (png || gif || jpeg) return;
  const bool bmp = is_bmp(byte);  // otherwise stb_image found a TGA, the one format left
  const int64_t needed = bmp ? bmp_bytes_needed(byte, w, h) : tga_bytes_needed(byte, w, h);
  PRISM_CHECK(needed <= static_cast<int64_t>(b.size()),
              where << " is truncated: its " << (bmp ? "BMP" : "TGA") << " header (" << w << " x "
                    << h << " pixels) needs " << needed << " bytes, the file has " << b.size());
}

}  // namespace

Tensor decode_image(const std::string& bytes, int channels, const std::string& where) {
  PRISM_CHECK(channels == 1 || channels == 3, "decode_image: channels is 1 or 3, got " << channels);
  PRISM_CHECK(bytes.size() <= static_cast<size_t>(INT32_MAX), where << " is larger than 2 GiB");
  const auto* data = reinterpret_cast<const stbi_uc*>(bytes.data());
  const int size = static_cast<int>(bytes.size());
  check_jpeg_huffman_tables(bytes, where);
  int w = 0, h = 0, comp = 0;
  PRISM_CHECK(stbi_info_from_memory(data, size, &w, &h, &comp),
              where << " is not a PNG, JPEG, BMP, TGA or GIF image stb_image can read ("
                    << stbi_failure_reason() << ")");
  PRISM_CHECK(
      w > 0 && h > 0 && int64_t{w} * h <= kMaxImagePixels,
      where << " claims " << w << " x " << h << " pixels, above the limit of " << kMaxImagePixels);
  PRISM_CHECK(int64_t{w} * h <= kMaxPixelsPerByte * static_cast<int64_t>(bytes.size()),
              where << " claims " << w << " x " << h << " pixels from " << bytes.size()
                    << " bytes, more than any of its formats can compress to (" << kMaxPixelsPerByte
                    << " pixels per byte)");
  check_size(bytes, w, h, where);
  std::unique_ptr<stbi_uc, void (*)(void*)> pixels(
      stbi_load_from_memory(data, size, &w, &h, &comp, channels), stbi_image_free);
  PRISM_CHECK(pixels != nullptr,
              where << " is corrupt or truncated (" << stbi_failure_reason() << ")");
  // stb_image gives H x W x C bytes; the tensor is C x H x W.
  Tensor img({channels, h, w});
  for (int64_t k = 0; k < channels; ++k)
    for (int64_t i = 0; i < int64_t{h} * w; ++i)
      img.data()[k * h * w + i] = static_cast<float>(pixels.get()[i * channels + k]) / 255.0f;
  return img;
}

}  // namespace prism::data
