#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <set>

#include "core/error.hpp"
#include "data/dataset.hpp"
#include "data/transforms.hpp"

using namespace prism;
using namespace prism::data;

namespace {

// [2, 3, 4]: value 100 c + 10 y + x, so every output tells where it came from.
Tensor labelled() {
  Tensor t({2, 3, 4});
  for (int64_t c = 0; c < 2; ++c)
    for (int64_t y = 0; y < 3; ++y)
      for (int64_t x = 0; x < 4; ++x)
        t[(c * 3 + y) * 4 + x] = static_cast<float>(100 * c + 10 * y + x);
  return t;
}

}  // namespace

TEST_CASE("transforms: normalize, pad, and whole-dataset padding and prefixes") {
  const Tensor x = labelled();
  const Tensor n = normalize(x, {0.0f, 100.0f}, {2.0f, 4.0f});
  CHECK(n[5] == 5.5f);  // (11 - 0) / 2
  CHECK(n[12 + 5] == (111.0f - 100.0f) / 4.0f);
  CHECK(normalize(x, {1.0f}, {1.0f})[3] == 2.0f);
  CHECK_THROWS_WITH_AS(normalize(x, {0, 0, 0}, {1}), doctest::Contains("mean has 3 values"), Error);
  CHECK_THROWS_WITH_AS(normalize(x, {0}, {0}), doctest::Contains("not positive"), Error);

  const Tensor p = pad_image(x, 1, -1.0f);
  REQUIRE(p.shape() == Shape{2, 5, 6});
  CHECK(p[0] == -1.0f);
  CHECK(p[30 + 6 + 1] == 100.0f);  // channel 1, row 1, column 1: the original (0, 0)
  CHECK_THROWS_WITH_AS(pad_image(Tensor({3, 3}), 1), doctest::Contains("[C, H, W]"), Error);

  // Whole datasets: three images of x, labels 7, 8, 9.
  Tensor images({3, 2, 3, 4});
  for (int64_t i = 0; i < 3; ++i)
    std::copy_n(x.data(), x.numel(), images.data() + i * x.numel());
  auto full = std::make_shared<TensorDataset>(images, Labels{7, 8, 9});
  const auto padded = pad_images(*full, 1, -1.0f);
  REQUIRE(padded->images().shape() == Shape{3, 2, 5, 6});
  CHECK(padded->labels() == full->labels());
  CHECK(padded->images()[2 * 60 + 30 + 6 + 1] == 100.0f);  // image 2 padded like p
  // A prefix is a copy: the whole set's storage is not kept alive by it.
  const auto first = first_examples(*full, 2);
  REQUIRE(first->size() == 2);
  CHECK(first->labels() == Labels{7, 8});
  CHECK(!first->images().same_storage(images));
  CHECK(first->images().to_vector() ==
        std::vector<float>(images.data(), images.data() + 2 * x.numel()));
  CHECK_THROWS_WITH_AS(first_examples(*full, 4), doctest::Contains("n must be in [1, 3]"), Error);
  CHECK_THROWS_WITH_AS(first_examples(*full, 0), doctest::Contains("n must be in [1, 3]"), Error);
}

TEST_CASE("transforms: random crops and flips are uniform over their choices and seeded") {
  const Tensor x = labelled();
  std::set<std::pair<float, float>> corners;
  Rng rng(3), again(3);
  for (int i = 0; i < 200; ++i) {
    const Tensor c = random_crop(x, 2, 3, rng);
    REQUIRE(c.shape() == Shape{2, 2, 3});
    const float top_left = c[0];
    CHECK(c[6] == top_left + 100);  // the same window in channel 1
    CHECK(c[4] == top_left + 11);   // and contiguous inside it
    corners.insert({top_left, 0});
    CHECK(random_crop(x, 2, 3, again).to_vector() == c.to_vector());
  }
  CHECK(corners.size() == 4);  // 2 rows x 2 columns of positions, all drawn
  CHECK_THROWS_WITH_AS(random_crop(x, 4, 1, rng), doctest::Contains("does not fit"), Error);

  int flipped = 0;
  for (int i = 0; i < 200; ++i) {
    const Tensor f = random_flip(x, rng);
    if (f[0] == 3.0f) {
      ++flipped;
      CHECK(f[3] == 0.0f);
      CHECK(f[12 + 4 + 1] == 112.0f);
    } else {
      CHECK(f.to_vector() == x.to_vector());
    }
  }
  CHECK(flipped > 70);
  CHECK(flipped < 130);
}

TEST_CASE("TransformDataset: get(i) is the transform of the base's example") {
  auto base = std::make_shared<TensorDataset>(Tensor::full({3, 1, 2, 2}, 2.0f), Labels{0, 1, 2});
  TransformDataset plus(base, [](Example e) {
    e.x = normalize(e.x, {1.0f}, {0.5f});
    e.label += 10;
    return e;
  });
  CHECK(plus.size() == 3);
  CHECK(plus.get(1).label == 11);
  CHECK(plus.get(1).x.to_vector() == std::vector<float>(4, 2.0f));
  CHECK(base->get(1).x[0] == 2.0f);  // the base is untouched
  CHECK_THROWS_WITH_AS(TransformDataset(base, nullptr), doctest::Contains("must be given"), Error);
}
