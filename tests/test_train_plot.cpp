#include <doctest/doctest.h>
#include <stb_image.h>

#include <memory>

#include "core/error.hpp"
#include "core/file.hpp"
#include "temp_dir.hpp"
#include "train/plot_report.hpp"

using namespace prism;
using prism::testing::TempDir;

namespace {

struct Image {
  int w = 0, h = 0;
  std::shared_ptr<unsigned char> rgb;
  // How many pixels have exactly this colour.
  int count(unsigned char r, unsigned char g, unsigned char b) const {
    int n = 0;
    for (int i = 0; i < w * h; ++i)
      n += rgb.get()[3 * i] == r && rgb.get()[3 * i + 1] == g && rgb.get()[3 * i + 2] == b;
    return n;
  }
};

Image decode(const std::string& path) {
  const std::string bytes = read_file(path, "test");
  Image img;
  int channels = 0;
  img.rgb.reset(stbi_load_from_memory(reinterpret_cast<const unsigned char*>(bytes.data()),
                                      static_cast<int>(bytes.size()), &img.w, &img.h, &channels, 3),
                stbi_image_free);
  REQUIRE(img.rgb != nullptr);
  return img;
}

}  // namespace

TEST_CASE("plot_png: a PNG with one coloured line per key, missing values skipped") {
  TempDir dir;
  std::vector<train::Observation> log;
  for (int e = 1; e <= 5; ++e) {
    train::Observation row{{"epoch", e}, {"main/loss", 2.0 / e}};
    if (e % 2) row.emplace_back("validation/main/loss", 2.5 / e);  // only some epochs
    log.push_back(row);
  }
  train::plot_png(log, {"main/loss", "validation/main/loss"}, "epoch", dir.file("loss.png"));
  const Image img = decode(dir.file("loss.png"));
  CHECK(img.w == 640);
  CHECK(img.h == 480);
  const int blue = img.count(31, 119, 180), orange = img.count(255, 127, 14);
  CHECK(blue > 500);  // 4 segments and 5 markers, plus the legend's sample
  CHECK(orange > 300);
  CHECK(img.count(0, 0, 0) > 1000);  // axes, ticks and text
  // A key with no values draws only its legend sample.
  train::plot_png(log, {"main/loss", "main/accuracy"}, "epoch", dir.file("partial.png"));
  const Image partial = decode(dir.file("partial.png"));
  CHECK(partial.count(255, 127, 14) < 100);
  CHECK(partial.count(31, 119, 180) > 500);
}

TEST_CASE("plot_png: an empty log still draws axes; bad arguments are clear errors") {
  TempDir dir;
  train::plot_png({}, {"main/loss"}, "epoch", dir.file("empty.png"));
  CHECK(decode(dir.file("empty.png")).count(0, 0, 0) > 500);
  train::plot_png({{{"epoch", 1}, {"main/loss", 0.5}}}, {"main/loss"}, "epoch",
                  dir.file("one.png"));  // a single point
  CHECK(decode(dir.file("one.png")).count(31, 119, 180) > 40);
  // Values a few ulps apart at a large magnitude: a flat line, not ticks finer than an ulp.
  train::plot_png({{{"epoch", 1}, {"main/loss", 1e5}}, {{"epoch", 2}, {"main/loss", 1e5 + 1e-10}}},
                  {"main/loss"}, "epoch", dir.file("flat.png"));
  CHECK(decode(dir.file("flat.png")).count(31, 119, 180) > 100);
  CHECK_THROWS_WITH_AS(train::plot_png({}, {}, "epoch", dir.file("x.png")),
                       doctest::Contains("between 1 and 4 keys"), Error);
  CHECK_THROWS_WITH_AS(train::plot_png({}, {"a"}, "epoch", dir.file("no/such/dir/x.png")),
                       doctest::Contains("cannot open"), Error);
}
