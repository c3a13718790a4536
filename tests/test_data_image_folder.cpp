#include <doctest/doctest.h>
#include <stb_image_write.h>

#include <filesystem>
#include <vector>

#include "core/error.hpp"
#include "core/file.hpp"
#include "data/image_folder.hpp"
#include "temp_dir.hpp"

using namespace prism;
using namespace prism::data;
using prism::testing::TempDir;
namespace fs = std::filesystem;

namespace {

// A w x h RGB image whose pixel (x, y) is (10 x + seed, 20 y, 200 - seed).
std::vector<unsigned char> pattern(int w, int h, int seed) {
  std::vector<unsigned char> rgb(static_cast<size_t>(w * h * 3));
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      unsigned char* p = &rgb[static_cast<size_t>((y * w + x) * 3)];
      p[0] = static_cast<unsigned char>(10 * x + seed);
      p[1] = static_cast<unsigned char>(20 * y);
      p[2] = static_cast<unsigned char>(200 - seed);
    }
  return rgb;
}

void write_png(const fs::path& path, int w, int h, int seed) {
  fs::create_directories(path.parent_path());
  REQUIRE(stbi_write_png(path.c_str(), w, h, 3, pattern(w, h, seed).data(), w * 3));
}

}  // namespace

TEST_CASE("image folder: classes sorted by name, images decoded exactly into CHW") {
  TempDir dir;
  write_png(dir / "dog" / "b.png", 4, 3, 2);
  write_png(dir / "dog" / "a.PNG", 4, 3, 1);
  write_png(dir / "cat" / "x.png", 4, 3, 5);
  write_file_atomic(dir.file("cat/notes.txt"), "not an image", "test");  // skipped
  fs::create_directories(dir / ".hidden");
  const ImageFolder f = load_image_folder(dir.path);
  CHECK(f.classes == std::vector<std::string>{"cat", "dog"});
  CHECK(f.dataset->labels() == Labels{0, 1, 1});
  REQUIRE(f.dataset->images().shape() == Shape{3, 3, 3, 4});
  const Example a = f.dataset->get(1);                                      // dog/a.PNG, seed 1
  CHECK(a.x[0 * 12 + 1 * 4 + 2] == doctest::Approx((10 * 2 + 1) / 255.0));  // red at x 2, y 1
  CHECK(a.x[1 * 12 + 2 * 4 + 0] == doctest::Approx(40 / 255.0));            // green at y 2
  CHECK(a.x[2 * 12 + 0] == doctest::Approx(199 / 255.0));                   // blue

  // Gray, and resized.
  const ImageFolder g = load_image_folder(dir.path, {.channels = 1, .height = 6, .width = 8});
  CHECK(g.dataset->images().shape() == Shape{3, 1, 6, 8});
  const Tensor& gray = g.dataset->images();
  for (int64_t i = 0; i < gray.numel(); ++i) {
    REQUIRE(gray[i] >= 0.0f);
    REQUIRE(gray[i] <= 1.0f);
  }
}

TEST_CASE("image folder: JPEG, BMP and TGA decode too; a resize of a flat image stays flat") {
  TempDir dir;
  std::vector<unsigned char> flat(16 * 16 * 3, 90);
  fs::create_directories(dir / "a");
  REQUIRE(stbi_write_jpg((dir / "a" / "1.jpg").c_str(), 16, 16, 3, flat.data(), 95));
  REQUIRE(stbi_write_bmp((dir / "a" / "2.bmp").c_str(), 16, 16, 3, flat.data()));
  REQUIRE(stbi_write_tga((dir / "a" / "3.tga").c_str(), 16, 16, 3, flat.data()));
  const ImageFolder f = load_image_folder(dir.path, {.channels = 3, .height = 5, .width = 7});
  CHECK(f.dataset->size() == 3);
  const Tensor& x = f.dataset->images();
  for (int64_t i = 0; i < x.numel(); ++i)
    REQUIRE(x[i] == doctest::Approx(90 / 255.0).epsilon(0.02));
}

TEST_CASE("image folder: corrupt, oversized, mixed-size and missing input are clear errors") {
  TempDir dir;
  write_png(dir / "a" / "1.png", 4, 4, 0);
  write_png(dir / "a" / "2.png", 5, 4, 0);
  CHECK_THROWS_WITH_AS(load_image_folder(dir.path), doctest::Contains("2.png is [3, 4, 5]"), Error);
  CHECK(load_image_folder(dir.path, {.height = 4, .width = 4}).dataset->size() == 2);

  const std::string png = read_file(dir.file("a/1.png"), "test");
  write_file_atomic(dir.file("a/2.png"), png.substr(0, png.size() / 2), "test");
  CHECK_THROWS_WITH_AS(load_image_folder(dir.path),
                       doctest::Contains("2.png is truncated or corrupt"), Error);
  write_file_atomic(dir.file("a/2.png"), "GIF89a garbage", "test");
  CHECK_THROWS_WITH_AS(load_image_folder(dir.path), doctest::Contains("2.png"), Error);
  // A PNG header claiming 2^14 x 2^13 pixels (stb_image itself would allocate that much):
  // refused before any decoding.
  std::string huge = png;
  for (auto [at, high] : {std::pair{16, 0x40}, std::pair{20, 0x20}}) {  // IHDR width, height
    huge[static_cast<size_t>(at)] = 0, huge[static_cast<size_t>(at) + 1] = 0;
    huge[static_cast<size_t>(at) + 2] = static_cast<char>(high);
    huge[static_cast<size_t>(at) + 3] = 0;
  }
  write_file_atomic(dir.file("a/2.png"), huge, "test");
  CHECK_THROWS_WITH_AS(read_image(dir / "a" / "2.png"), doctest::Contains("above the limit"),
                       Error);

  // Formats other than the five an image folder holds are not compiled in: a PPM stb_image
  // could read is refused as unknown.
  write_file_atomic(dir.file("a/2.png"), "P6\n2 2\n255\n" + std::string(12, '\x7f'), "test");
  CHECK_THROWS_WITH_AS(read_image(dir / "a" / "2.png"),
                       doctest::Contains("is not a PNG, JPEG, BMP, TGA or GIF image (stb_image"),
                       Error);
  // From memory, the same decoding as from the file.
  const Tensor from_file = read_image(dir / "a" / "1.png", {.channels = 1});
  const Tensor from_memory = decode_image(png, 1, "test");
  REQUIRE(from_memory.shape() == from_file.shape());
  for (int64_t i = 0; i < from_file.numel(); ++i)
    REQUIRE(from_memory[i] == from_file[i]);

  fs::remove(dir / "a" / "2.png");
  fs::create_directories(dir / "empty");
  CHECK_THROWS_WITH_AS(load_image_folder(dir.path), doctest::Contains("has no .png"), Error);
  CHECK_THROWS_WITH_AS(load_image_folder(dir / "nowhere"), doctest::Contains("is not a folder"),
                       Error);
  CHECK_THROWS_WITH_AS(read_image(dir / "a" / "1.png", {.channels = 2}),
                       doctest::Contains("channels is 1 or 3"), Error);
}

TEST_CASE("image decode: headers that would make stb_image overrun or over-allocate are refused") {
  TempDir dir;
  std::vector<unsigned char> flat(16 * 16 * 3, 90);
  const fs::path jpg = dir / "1.jpg", bmp = dir / "2.bmp";
  REQUIRE(stbi_write_jpg(jpg.c_str(), 16, 16, 3, flat.data(), 95));
  REQUIRE(stbi_write_bmp(bmp.c_str(), 16, 16, 3, flat.data()));

  // A Huffman table (DHT segment) whose 16 code counts add up to 16 x 255 = 4080 (at most 256
  // are possible): stb_image 2.27 wrote past its tables; libjpeg-turbo refuses it.
  std::string bytes = read_file(jpg.string(), "test");
  const size_t dht = bytes.find("\xFF\xC4");
  REQUIRE(dht != std::string::npos);
  for (size_t k = 1; k <= 16; ++k)
    bytes[dht + 4 + k] = '\xFF';
  CHECK_THROWS_WITH_AS(decode_image(bytes, 3, "1.jpg"),
                       doctest::Contains("1.jpg is a corrupt, truncated or unsupported JPEG "
                                         "(libjpeg: Bogus Huffman table definition)"),
                       Error);
  // Truncated: libjpeg-turbo would only warn and fill the rest with gray.
  bytes = read_file(jpg.string(), "test");
  CHECK_THROWS_WITH_AS(decode_image(bytes.substr(0, bytes.size() / 2), 3, "1.jpg"),
                       doctest::Contains("Premature end of JPEG file"), Error);
  // A JPEG header claiming 60000 x 60000 pixels: above kMaxImagePixels, refused before decoding.
  const size_t sof = bytes.find("\xFF\xC0");
  REQUIRE(sof != std::string::npos);
  for (size_t at : {sof + 5, sof + 7})  // height, width: 60000 = 0xEA60, big-endian
    bytes[at] = '\xEA', bytes[at + 1] = '\x60';
  CHECK_THROWS_WITH_AS(decode_image(bytes, 3, "1.jpg"),
                       doctest::Contains("claims 60000 x 60000 pixels, above the limit"), Error);

  // A PNG whose IDAT chunk claims 2^31 - 1 bytes: stb_image would allocate them before reading.
  write_png(dir / "3.png", 4, 4, 0);
  bytes = read_file((dir / "3.png").string(), "test");
  const size_t idat = bytes.find("IDAT") - 4;
  bytes.replace(idat, 4, "\x7F\xFF\xFF\xFF");
  const std::string claims = "the PNG chunk at byte offset " + std::to_string(idat) + " claims";
  CHECK_THROWS_WITH_AS(decode_image(bytes, 3, "3.png"), doctest::Contains(claims.c_str()), Error);
  // A PNG header claiming 2^20 x 2^20 pixels: stb_image calls it no image at all; prism names
  // the claim and the limit.
  bytes = read_file((dir / "3.png").string(), "test");
  bytes.replace(16, 8, std::string("\x00\x10\x00\x00\x00\x10\x00\x00", 8));
  CHECK_THROWS_WITH_AS(decode_image(bytes, 3, "3.png"),
                       doctest::Contains("3.png claims 1048576 x 1048576 pixels, above the limit"),
                       Error);
  bytes.replace(16, 8, std::string(8, '\xFF'));  // 2^32 - 1 each way: w * h would overflow
  CHECK_THROWS_WITH_AS(decode_image(bytes, 3, "3.png"),
                       doctest::Contains("claims 4294967295 x 4294967295 pixels, above the limit"),
                       Error);
  // And one cut inside its final IEND chunk is truncated too.
  bytes = read_file((dir / "3.png").string(), "test");
  CHECK_THROWS_WITH_AS(decode_image(bytes.substr(0, bytes.size() - 2), 3, "3.png"),
                       doctest::Contains("3.png is truncated or corrupt"), Error);

  // A 54-byte BMP header (no pixels) claiming 8000 x 8000: under kMaxImagePixels, but far more
  // pixels than 54 bytes can hold.
  bytes = read_file(bmp.string(), "test").substr(0, 54);
  for (size_t at : {18u, 22u}) {  // biWidth, biHeight: 8000 = 0x1F40, little-endian
    bytes[at] = '\x40', bytes[at + 1] = '\x1F', bytes[at + 2] = 0, bytes[at + 3] = 0;
  }
  CHECK_THROWS_WITH_AS(decode_image(bytes, 3, "2.bmp"),
                       doctest::Contains("2.bmp claims 8000 x 8000 pixels from 54 bytes"), Error);
}

TEST_CASE("image decode: a truncated BMP or TGA is an error, not an image with black rows") {
  TempDir dir;
  const std::vector<unsigned char> rgb = pattern(7, 5, 1);
  const fs::path bmp = dir / "a.bmp", rle = dir / "rle.tga", raw = dir / "raw.tga";
  REQUIRE(stbi_write_bmp(bmp.c_str(), 7, 5, 3, rgb.data()));
  REQUIRE(stbi_write_tga(rle.c_str(), 7, 5, 3, rgb.data()));  // run-length packets
  stbi_write_tga_with_rle = 0;
  REQUIRE(stbi_write_tga(raw.c_str(), 7, 5, 3, rgb.data()));
  stbi_write_tga_with_rle = 1;
  for (const fs::path& path : {bmp, rle, raw}) {
    CAPTURE(path);
    const std::string whole = read_file(path.string(), "test");
    const Tensor image = decode_image(whole, 3, "whole");
    REQUIRE(image.shape() == Shape{3, 5, 7});
    for (int64_t k = 0; k < 3; ++k)
      for (int64_t i = 0; i < 35; ++i)
        REQUIRE(image[k * 35 + i] ==
                static_cast<float>(rgb[static_cast<size_t>(i * 3 + k)]) / 255.0f);
    // Cutting into the pixels (a BMP's last row may lose its padding: stb_image does not read it).
    for (size_t cut : {size_t{4}, size_t{10}, whole.size() / 2}) {
      CAPTURE(cut);
      CHECK_THROWS_WITH_AS(decode_image(whole.substr(0, whole.size() - cut), 3, "cut"),
                           doctest::Contains("cut is truncated"), Error);
    }
  }
}
