#include <doctest/doctest.h>

#include <string>

#include "core/error.hpp"
#include "core/file.hpp"
#include "data/cifar.hpp"
#include "temp_dir.hpp"

using namespace prism;
using namespace prism::data;
using prism::testing::TempDir;

namespace {

// `n` records; record i has label first_label + i (after a coarse label when label_bytes is 2)
// and pixel p = (i + p) % 256.
std::string records(int n, int label_bytes, int first_label) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    if (label_bytes == 2) out += static_cast<char>(i % 20);  // the coarse label, unused
    out += static_cast<char>(first_label + i);
    for (int p = 0; p < 3072; ++p)
      out += static_cast<char>((i + p) % 256);
  }
  return out;
}

}  // namespace

TEST_CASE("cifar: CIFAR-10 reads the five training batches in order and the test batch") {
  TempDir dir;
  for (int b = 1; b <= 5; ++b)
    write_file_atomic(dir.file("data_batch_" + std::to_string(b) + ".bin"), records(2, 1, b - 1),
                      "test");
  write_file_atomic(dir.file("test_batch.bin"), records(3, 1, 7), "test");
  const TrainTest d = load_cifar10(dir.path);
  REQUIRE(d.train->images().shape() == Shape{10, 3, 32, 32});
  CHECK(d.train->labels() == Labels{0, 1, 1, 2, 2, 3, 3, 4, 4, 5});
  CHECK(d.test->labels() == Labels{7, 8, 9});
  // Channel-major pixels, byte / 255: record 1 of batch 2 (example 3), green plane, pixel 5.
  const Example e = d.train->get(3);
  CHECK(e.x.shape() == Shape{3, 32, 32});
  CHECK(e.x[1024 + 5] == doctest::Approx((1 + 1024 + 5) % 256 / 255.0).epsilon(1e-6));
}

TEST_CASE("cifar: CIFAR-100 uses the fine label") {
  TempDir dir;
  write_file_atomic(dir.file("train.bin"), records(4, 2, 96), "test");
  write_file_atomic(dir.file("test.bin"), records(1, 2, 0), "test");
  const TrainTest d = load_cifar100(dir.path);
  CHECK(d.train->labels() == Labels{96, 97, 98, 99});
  CHECK(d.test->size() == 1);
  CHECK(d.train->get(2).x[0] == doctest::Approx(2 / 255.0).epsilon(1e-6));
}

TEST_CASE("cifar: missing files, partial records and labels out of range are clear errors") {
  TempDir dir;
  CHECK_THROWS_WITH_AS(load_cifar10(dir.path), doctest::Contains("data_batch_1.bin"), Error);
  write_file_atomic(dir.file("train.bin"), records(2, 2, 0).substr(0, 3074 + 100), "test");
  write_file_atomic(dir.file("test.bin"), records(1, 2, 0), "test");
  CHECK_THROWS_WITH_AS(load_cifar100(dir.path), doctest::Contains("not a whole number"), Error);
  write_file_atomic(dir.file("train.bin"), records(2, 2, 99), "test");  // labels 99 and 100
  CHECK_THROWS_WITH_AS(load_cifar100(dir.path), doctest::Contains("label 100"), Error);
  write_file_atomic(dir.file("ten.bin"), records(1, 1, 10), "test");
  CHECK_THROWS_WITH_AS(read_cifar_file(dir.file("ten.bin"), 1, 10),
                       doctest::Contains("outside [0, 9]"), Error);
  write_file_atomic(dir.file("empty.bin"), "", "test");
  CHECK_THROWS_WITH_AS(read_cifar_file(dir.file("empty.bin"), 1, 10), doctest::Contains("0 bytes"),
                       Error);
}
