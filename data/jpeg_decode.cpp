// JPEG through libjpeg-turbo. stb_image 2.27, the version Debian 12 ships, wrote past its
// Huffman tables, failed assertions and shifted by 32 on JPEGs the fuzz target built
// (fuzz/fuzz_image); libjpeg-turbo is the decoder the rest of the world fuzzes.
//
// libjpeg reports errors by calling error_exit, which must not return: it longjmps back to
// decode_jpeg. So nothing with a destructor is created, or changed on the stack, between the
// setjmp and the end of decoding; the pixel buffer lives on the heap behind a pointer set before.
#include <csetjmp>
#include <cstdio>  // jpeglib.h uses FILE and size_t without including them
#include <memory>
#include <vector>

#include <jpeglib.h>

#include "core/error.hpp"
#include "data/image_decode.hpp"

namespace prism::data {

namespace {

// A progressive JPEG may hold any number of scans, each a pass over the whole image: a small
// file could keep the decoder busy for minutes. Real encoders write about ten.
constexpr int kMaxJpegScans = 100;

struct ErrorManager {
  jpeg_error_mgr base;  // first, so libjpeg's pointer to it is a pointer to this
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void on_error(j_common_ptr info) {
  auto* err = reinterpret_cast<ErrorManager*>(info->err);
  info->err->format_message(info, err->message);
  std::longjmp(err->jump, 1);
}

// Level -1 is a warning about corrupt data (libjpeg decodes on, with gray rows): an error here.
void on_message(j_common_ptr info, int level) {
  if (level < 0) on_error(info);
}

void on_progress(j_common_ptr info) {
  auto* d = reinterpret_cast<j_decompress_ptr>(info);
  if (d->input_scan_number > kMaxJpegScans) {
    auto* err = reinterpret_cast<ErrorManager*>(info->err);
    std::snprintf(err->message, sizeof err->message, "more than %d scans", kMaxJpegScans);
    std::longjmp(err->jump, 1);
  }
}

}  // namespace

bool is_jpeg(const std::string& bytes) {
  return bytes.size() >= 2 && static_cast<uint8_t>(bytes[0]) == 0xFF &&
         static_cast<uint8_t>(bytes[1]) == 0xD8;
}

Tensor decode_jpeg(const std::string& bytes, int channels, const std::string& where) {
  jpeg_decompress_struct info{};
  ErrorManager err{};
  jpeg_progress_mgr progress{};
  auto pixels = std::make_unique<std::vector<uint8_t>>();  // H x W x C
  // Destroys the decoder on every way out: return, an error thrown below, or after the longjmp.
  auto destroy = [](jpeg_decompress_struct* d) { jpeg_destroy_decompress(d); };
  std::unique_ptr<jpeg_decompress_struct, decltype(destroy)> guard(&info, destroy);
  info.err = jpeg_std_error(&err.base);
  err.base.error_exit = on_error;
  err.base.emit_message = on_message;
  progress.progress_monitor = on_progress;
  if (setjmp(err.jump))
    PRISM_FAIL(where << " is a corrupt, truncated or unsupported JPEG (libjpeg: " << err.message
                     << ")");
  jpeg_create_decompress(&info);
  info.progress = &progress;
  jpeg_mem_src(&info, reinterpret_cast<const unsigned char*>(bytes.data()),
               static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&info, TRUE);
  // Throwing here, outside libjpeg's frames, is fine: the guard cleans up.
  check_image_size(info.image_width, info.image_height, bytes.size(), where);
  info.out_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress(&info);
  const size_t row_bytes = size_t{info.output_width} * channels;
  pixels->resize(info.output_height * row_bytes);
  while (info.output_scanline < info.output_height) {
    JSAMPROW row = pixels->data() + info.output_scanline * row_bytes;
    jpeg_read_scanlines(&info, &row, 1);
  }
  jpeg_finish_decompress(&info);
  return hwc_to_tensor(pixels->data(), info.output_height, info.output_width, channels);
}

}  // namespace prism::data
