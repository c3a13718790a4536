#include <doctest/doctest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

#include "data/idx.hpp"
#include "temp_dir.hpp"

using namespace prism;
using namespace prism::data;
namespace fs = std::filesystem;

namespace {

using prism::testing::TempDir;

using Bytes = std::vector<uint8_t>;

// A fresh directory under the system temp directory, removed with its contents at scope exit.

void put_be32(Bytes& b, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    b.push_back(static_cast<uint8_t>(v >> shift));
}

// An IDX file: magic, dims, then the payload as given (which may disagree with the dims).
Bytes idx_file(uint32_t magic, const std::vector<uint32_t>& dims, const Bytes& payload) {
  Bytes b;
  put_be32(b, magic);
  for (uint32_t d : dims)
    put_be32(b, d);
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

fs::path write_plain(const fs::path& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
  return path;
}

Bytes gzip_bytes(const Bytes& bytes, const fs::path& scratch) {
  gzFile f = gzopen(scratch.c_str(), "wb");
  REQUIRE(f != nullptr);
  if (!bytes.empty()) REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) > 0);
  REQUIRE(gzclose(f) == Z_OK);
  std::ifstream in(scratch, std::ios::binary);
  Bytes gz((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  fs::remove(scratch);
  return gz;
}

fs::path write_gz(const fs::path& path, const Bytes& bytes) {
  return write_plain(path, gzip_bytes(bytes, path.string() + ".tmp"));
}

// 3 images of 2 x 4 covering 0 and 255.
const Bytes kPixels = [] {
  Bytes p;
  for (int i = 0; i < 24; ++i)
    p.push_back(static_cast<uint8_t>(i == 23 ? 255 : i * 37 % 256));
  return p;
}();
const Bytes kImagesFile = idx_file(0x00000803, {3, 2, 4}, kPixels);
const Bytes kLabelBytes = {7, 0, 9, 3, 255};
const Bytes kLabelsFile = idx_file(0x00000801, {5}, kLabelBytes);

void check_images(const Tensor& t) {
  REQUIRE(t.shape() == Shape{3, 1, 2, 4});
  for (int64_t i = 0; i < t.numel(); ++i)
    CHECK(t[i] == static_cast<float>(kPixels[i]) / 255.0f);
  CHECK(t[0] == 0.0f);
  CHECK(t[23] == 1.0f);
}

void check_labels(const Labels& labels) {
  CHECK(labels == Labels{7, 0, 9, 3, 255});
}

// The error message of `f`, which must throw prism::Error; it must name `path`.
template <typename F>
std::string error_of(F f, const fs::path& path) {
  try {
    f();
  } catch (const Error& e) {
    const std::string what = e.what();
    CHECK_MESSAGE(what.find(path.string()) != std::string::npos, what);
    return what;
  }
  FAIL("no prism::Error thrown for " << path.string());
  return {};
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("data: IDX images and labels read back exactly, plain and gzip") {
  TempDir dir;
  check_images(read_idx_images(write_plain(dir / "images", kImagesFile)));
  check_images(read_idx_images(write_gz(dir / "images.gz", kImagesFile)));
  check_labels(read_idx_labels(write_plain(dir / "labels", kLabelsFile)));
  check_labels(read_idx_labels(write_gz(dir / "labels.gz", kLabelsFile)));
  // gzip is recognised by its magic bytes, not the name.
  check_labels(read_idx_labels(write_gz(dir / "labels-no-suffix", kLabelsFile)));

  // Concatenated gzip members are one valid gzip file.
  const Bytes head(kImagesFile.begin(), kImagesFile.begin() + 10);
  const Bytes tail(kImagesFile.begin() + 10, kImagesFile.end());
  Bytes two = gzip_bytes(head, dir / "scratch");
  const Bytes second = gzip_bytes(tail, dir / "scratch");
  two.insert(two.end(), second.begin(), second.end());
  check_images(read_idx_images(write_plain(dir / "two-members.gz", two)));

  // An empty set is a valid file.
  CHECK(read_idx_images(write_plain(dir / "empty", idx_file(0x803, {0, 28, 28}, {}))).shape() ==
        Shape{0, 1, 28, 28});
  CHECK(read_idx_labels(write_gz(dir / "empty.gz", idx_file(0x801, {0}, {}))).empty());
}

TEST_CASE("data: IDX header and length errors name the file and the problem") {
  TempDir dir;
  auto images_error = [&](const std::string& name, const Bytes& bytes, bool gz = false) {
    const fs::path p = gz ? write_gz(dir / name, bytes) : write_plain(dir / name, bytes);
    return error_of([&] { read_idx_images(p); }, p);
  };
  auto labels_error = [&](const std::string& name, const Bytes& bytes) {
    const fs::path p = write_plain(dir / name, bytes);
    return error_of([&] { read_idx_labels(p); }, p);
  };

  std::string e = images_error("bad-magic", idx_file(0x12345678, {3, 2, 4}, kPixels));
  CHECK_MESSAGE(contains(e, "bad IDX magic 0x12345678"), e);
  CHECK_MESSAGE(contains(e, "not an IDX file"), e);
  e = images_error("float-type", idx_file(0x00000D03, {3, 2, 4}, kPixels));
  CHECK_MESSAGE(contains(e, "not unsigned byte"), e);
  // A labels file where images are expected, and a 2-d file: the dimension count is wrong.
  e = images_error("labels-as-images", kLabelsFile);
  CHECK_MESSAGE(contains(e, "1 dimensions, expected 3"), e);
  e = images_error("two-dims", idx_file(0x00000802, {3, 8}, kPixels));
  CHECK_MESSAGE(contains(e, "2 dimensions, expected 3"), e);
  e = labels_error("images-as-labels", kImagesFile);
  CHECK_MESSAGE(contains(e, "3 dimensions, expected 1"), e);

  e = images_error("short", Bytes{0, 0});
  CHECK_MESSAGE(contains(e, "too short"), e);
  e = images_error("short-header", Bytes(kImagesFile.begin(), kImagesFile.begin() + 10));
  CHECK_MESSAGE(contains(e, "truncated IDX header: 10 bytes, the header needs 16"), e);

  e = images_error("truncated", Bytes(kImagesFile.begin(), kImagesFile.end() - 3));
  CHECK_MESSAGE(contains(e, "claims 3 x 2 x 4 bytes of data but only 21 bytes follow"), e);
  e = labels_error("truncated-labels", idx_file(0x801, {6}, kLabelBytes));
  CHECK_MESSAGE(contains(e, "claims 6 bytes of data but only 5"), e);

  Bytes trailing = kImagesFile;
  trailing.push_back(1);
  trailing.push_back(2);
  e = images_error("trailing", trailing);
  CHECK_MESSAGE(contains(e, "2 trailing bytes after the data, from byte offset 40"), e);
  e = images_error("trailing.gz", trailing, true);
  CHECK_MESSAGE(contains(e, "(decompressed): 2 trailing bytes"), e);

  // Sizes are bounded by the real data before anything is allocated: these must not try to
  // allocate terabytes (which would also throw, but with an out-of-memory message).
  e = images_error("huge", idx_file(0x803, {1u << 31, 28, 28}, Bytes(84, 0)));
  CHECK_MESSAGE(contains(e, "claims 2147483648 x 28 x 28 bytes of data but only 84"), e);
  e = images_error("overflow", idx_file(0x803, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, {}));
  CHECK_MESSAGE(contains(e, "claims 4294967295 x 4294967295 x 4294967295 bytes"), e);
  // 2^22 * 2^21 * 2^21 = 2^64 wraps to 0 in 64 bits, which would match an empty payload.
  e = images_error("wraps", idx_file(0x803, {1u << 22, 1u << 21, 1u << 21}, {}));
  CHECK_MESSAGE(contains(e, "claims 4194304 x 2097152 x 2097152 bytes of data but only 0"), e);
  // Zero pixels make the data empty, but 4 billion such images are still a corrupt header (and
  // their count times the other dimension must not overflow on the way to the tensor's size).
  e = images_error("no-pixels", idx_file(0x803, {0xFEFFFFFF, 0xFFFFFF7F, 0}, {}));
  CHECK_MESSAGE(contains(e, "4278190079 images of 4294967167 x 0 pixels"), e);
  e = labels_error("huge-labels", idx_file(0x801, {0xFFFFFFFF}, Bytes(92, 0)));
  CHECK_MESSAGE(contains(e, "claims 4294967295 bytes of data but only 92"), e);
}

TEST_CASE("data: unreadable files: missing, directory, corrupt or truncated gzip") {
  TempDir dir;
  const fs::path missing = dir / "missing";
  std::string e = error_of([&] { read_idx_images(missing); }, missing);
  CHECK_MESSAGE(contains(e, "no such file"), e);
  e = error_of([&] { read_idx_labels(dir.path); }, dir.path);
  CHECK_MESSAGE(contains(e, "not a regular file"), e);

  // A valid gzip header followed by garbage (0xff starts a block of the reserved type 3).
  const fs::path garbage = write_plain(
      dir / "garbage.gz", Bytes{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff, 0xff});
  e = error_of([&] { read_idx_images(garbage); }, garbage);
  CHECK_MESSAGE(contains(e, "corrupt gzip data"), e);

  const Bytes gz = gzip_bytes(kImagesFile, dir / "scratch");
  for (size_t keep : {size_t{2}, size_t{12}, gz.size() / 2, gz.size() - 1}) {
    const fs::path cut = write_plain(dir / "cut.gz", Bytes(gz.begin(), gz.begin() + keep));
    e = error_of([&] { read_idx_images(cut); }, cut);
    CHECK_MESSAGE(contains(e, "truncated gzip data"), e);
  }

  Bytes extra = gz;
  extra.insert(extra.end(), {'j', 'u', 'n', 'k'});
  const fs::path after = write_plain(dir / "after.gz", extra);
  e = error_of([&] { read_idx_images(after); }, after);
  CHECK_MESSAGE(contains(e, "4 trailing bytes after the gzip stream"), e);

  // A gzip of zeros is refused by its first 16 bytes, before the rest is inflated; a good header
  // followed by megabytes of zeros stops at the claimed size plus 1 MiB of slack.
  const Bytes zeros(16 << 20, 0);
  const fs::path bomb = write_plain(dir / "zeros.gz", gzip_bytes(zeros, dir / "scratch"));
  e = error_of([&] { read_idx_images(bomb); }, bomb);
  CHECK_MESSAGE(contains(e, "(decompressed): bad IDX magic 0x00000000"), e);
  Bytes padded = kImagesFile;
  padded.insert(padded.end(), zeros.begin(), zeros.end());
  const fs::path long_tail = write_plain(dir / "tail.gz", gzip_bytes(padded, dir / "scratch"));
  e = error_of([&] { read_idx_images(long_tail); }, long_tail);
  CHECK_MESSAGE(contains(e, "decompresses to more than 1048616 bytes"), e);
}

TEST_CASE("data: load_mnist_like reads the four files, plain or .gz, and checks them") {
  TempDir dir;
  write_plain(dir / "train-images-idx3-ubyte", kImagesFile);
  write_gz(dir / "train-labels-idx1-ubyte.gz", idx_file(0x801, {3}, {4, 0, 9}));
  write_gz(dir / "t10k-images-idx3-ubyte.gz", idx_file(0x803, {2, 2, 4}, Bytes(16, 51)));
  write_plain(dir / "t10k-labels-idx1-ubyte", idx_file(0x801, {2}, {1, 2}));
  TrainTest data = load_mnist_like(dir.path);
  REQUIRE(data.train->size() == 3);
  REQUIRE(data.test->size() == 2);
  Example e = data.train->get(2);
  CHECK(e.label == 9);
  CHECK(e.x.shape() == Shape{1, 2, 4});
  CHECK(e.x[7] == 1.0f);  // pixel 23 of the file
  CHECK(data.test->get(1).label == 2);
  CHECK(data.test->get(1).x[0] == 0.2f);  // 51 / 255

  // A plain file is preferred over the .gz beside it.
  write_gz(dir / "train-images-idx3-ubyte.gz", Bytes{1, 2, 3});
  CHECK(load_mnist_like(dir.path).train->size() == 3);

  // Counts that disagree.
  write_plain(dir / "t10k-labels-idx1-ubyte", idx_file(0x801, {3}, {1, 2, 3}));
  CHECK_THROWS_WITH_AS(load_mnist_like(dir.path), doctest::Contains("holds 2 images but"), Error);
  // A label out of range.
  write_plain(dir / "t10k-labels-idx1-ubyte", idx_file(0x801, {2}, {1, 10}));
  CHECK_THROWS_WITH_AS(load_mnist_like(dir.path),
                       doctest::Contains("label 10 of example 1 is outside [0, 9]"), Error);
  CHECK(load_mnist_like(dir.path, 11).test->get(1).label == 10);
  // Test images of another size than the training images: refused at load, naming both files.
  write_plain(dir / "t10k-labels-idx1-ubyte", idx_file(0x801, {2}, {1, 2}));
  fs::remove(dir / "t10k-images-idx3-ubyte.gz");
  write_plain(dir / "t10k-images-idx3-ubyte", idx_file(0x803, {2, 4, 2}, Bytes(16, 51)));
  const std::string mismatch = "t10k-images-idx3-ubyte are 2 x 4 pixels, the training images in " +
                               (dir / "train-images-idx3-ubyte").string() + " 4 x 2";
  CHECK_THROWS_WITH_AS(load_mnist_like(dir.path), doctest::Contains(mismatch.c_str()), Error);
  // A missing file.
  fs::remove(dir / "t10k-labels-idx1-ubyte");
  CHECK_THROWS_WITH_AS(load_mnist_like(dir.path),
                       doctest::Contains("t10k-labels-idx1-ubyte.gz exists"), Error);
}

TEST_CASE("data: Debian's Fashion-MNIST loads as 60000 + 10000 examples") {
  if (!fs::exists(kDebianFashionMnistDir)) {
    MESSAGE("skipped: " << kDebianFashionMnistDir << " not found");
    return;
  }
  TrainTest data = load_fashion_mnist();
  REQUIRE(data.train->size() == 60000);
  REQUIRE(data.test->size() == 10000);
  for (const auto* set : {data.train.get(), data.test.get()}) {
    CHECK(set->images().shape() == Shape{set->size(), 1, 28, 28});
    int count[10] = {};
    for (int32_t label : set->labels()) {
      REQUIRE(label >= 0);
      REQUIRE(label <= 9);
      ++count[label];
    }
    for (int c : count)
      CHECK(c == set->size() / 10);  // Fashion-MNIST is balanced
    float lo = 1, hi = 0;
    const Tensor& x = set->images();
    for (int64_t i = 0; i < x.numel(); ++i) {
      lo = std::min(lo, x[i]);
      hi = std::max(hi, x[i]);
    }
    CHECK(lo == 0.0f);
    CHECK(hi == 1.0f);
  }
  CHECK(data.train->get(59999).x.shape() == Shape{1, 28, 28});
}

TEST_CASE("data: gunzip refuses output beyond its bound (a small file can claim gigabytes)") {
  TempDir dir;
  const Bytes zeros(1 << 20, 0);  // 1 MiB of zeros compresses to about 1 KiB
  const Bytes gz = gzip_bytes(zeros, dir / "scratch");
  CHECK(gz.size() < 8192);
  const std::string gz_bytes(gz.begin(), gz.end());
  CHECK(gunzip(gz_bytes, "z", 1 << 20) == std::string(zeros.begin(), zeros.end()));  // at the bound
  CHECK_THROWS_WITH_AS(gunzip(gz_bytes, "z", (1 << 20) - 1),
                       doctest::Contains("z: decompresses to more than 1048575 bytes"), Error);
}
