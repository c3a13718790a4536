#include <doctest/doctest.h>

#include <zlib.h>

#include <filesystem>
#include <fstream>

#include "gradcheck.hpp"
#include "temp_dir.hpp"

using namespace prism;
namespace fs = std::filesystem;

namespace {

using prism::testing::TempDir;

std::shared_ptr<nn::Sequential> make_net(int64_t hidden, bool with_bn = true) {
  auto net = std::make_shared<nn::Sequential>();
  net->add(std::make_shared<nn::Convolution2D>(1, hidden, 3, 1, 1));
  if (with_bn) net->add(std::make_shared<nn::BatchNormalization>(hidden));
  net->add(std::make_shared<nn::Linear>(hidden * 4 * 4, 3));
  return net;
}

std::vector<std::vector<float>> snapshot(const nn::Module& m) {
  std::vector<std::vector<float>> out;
  for (const auto& [name, t] : m.named_tensors())
    out.push_back(t.to_vector());
  return out;
}

std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}
void write_all(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

TEST_CASE("serialize: parameters and buffers round trip exactly") {
  TempDir dir;
  manual_seed(1);
  auto a = make_net(4);
  Rng rng(2);
  (*a)(Variable(prism::testing::random_tensor({2, 1, 4, 4}, rng)));  // moves BN statistics
  io::save_parameters(*a, dir.file("a.prsm"));
  manual_seed(2);
  auto b = make_net(4);
  CHECK(snapshot(*a) != snapshot(*b));
  io::load_parameters(*b, dir.file("a.prsm"));
  CHECK(snapshot(*a) == snapshot(*b));
  CHECK_FALSE(fs::exists(dir.file("a.prsm") + ".tmp." + std::to_string(::getpid())));
}

TEST_CASE("serialize: a file of another model is an error that changes nothing") {
  TempDir dir;
  manual_seed(1);
  io::save_parameters(*make_net(4), dir.file("a.prsm"));
  auto wider = make_net(5), no_bn = make_net(4, false);
  const auto before = snapshot(*wider);
  CHECK_THROWS_WITH_AS(io::load_parameters(*wider, dir.file("a.prsm")),
                       doctest::Contains("0.W: file has [4, 1, 3, 3], model has [5, 1, 3, 3]"),
                       Error);
  CHECK(snapshot(*wider) == before);
  const auto no_bn_before = snapshot(*no_bn);
  CHECK_THROWS_WITH_AS(io::load_parameters(*no_bn, dir.file("a.prsm")),
                       doctest::Contains("1.W: in the model but not in the file"), Error);
  CHECK(snapshot(*no_bn) == no_bn_before);
  io::save_parameters(*no_bn, dir.file("small.prsm"));
  auto full = make_net(4);
  const auto full_before = snapshot(*full);
  CHECK_THROWS_WITH_AS(io::load_parameters(*full, dir.file("small.prsm")),
                       doctest::Contains("not in the file"), Error);
  CHECK(snapshot(*full) == full_before);
  // Every model entry is in the file, but the file has more.
  nn::Sequential conv_only;
  conv_only.add(std::make_shared<nn::Convolution2D>(1, 4, 3, 1, 1));
  const auto conv_before = snapshot(conv_only);
  CHECK_THROWS_WITH_AS(io::load_parameters(conv_only, dir.file("a.prsm")),
                       doctest::Contains("1.gamma: in the file but not in the model"), Error);
  CHECK(snapshot(conv_only) == conv_before);

  // Same count and shapes, other names: a Linear as child "fc" instead of Sequential's "0".
  struct Named : nn::Module {
    Named() { register_module("fc", std::make_shared<nn::Linear>(3, 2)); }
    Variable forward(const Variable& x) override { return x; }
  } named;
  auto seq = std::make_shared<nn::Sequential>();
  seq->add(std::make_shared<nn::Linear>(3, 2));
  io::save_parameters(*seq, dir.file("seq.prsm"));
  const auto named_before = snapshot(named);
  CHECK_THROWS_WITH_AS(io::load_parameters(named, dir.file("seq.prsm")),
                       doctest::Contains("fc.W: in the model but not in the file"), Error);
  CHECK(snapshot(named) == named_before);
}

TEST_CASE("serialize: truncated, corrupt, foreign and missing files are clear errors") {
  TempDir dir;
  manual_seed(1);
  auto net = make_net(2);
  io::save_parameters(*net, dir.file("ok.prsm"));
  const std::string bytes = read_all(dir.file("ok.prsm"));
  const auto before = snapshot(*net);

  for (size_t cut :
       {size_t{0}, size_t{3}, size_t{10}, size_t{20}, bytes.size() / 2, bytes.size() - 1}) {
    CAPTURE(cut);
    write_all(dir.file("cut.prsm"), bytes.substr(0, cut));
    CHECK_THROWS_WITH_AS(io::load_parameters(*net, dir.file("cut.prsm")),
                         doctest::Contains("cut.prsm"), Error);
  }
  std::string flipped = bytes;
  flipped[bytes.size() / 2] ^= 0x10;
  write_all(dir.file("flip.prsm"), flipped);
  CHECK_THROWS_WITH_AS(io::load_parameters(*net, dir.file("flip.prsm")),
                       doctest::Contains("checksum mismatch"), Error);
  write_all(dir.file("foreign.prsm"), "GIF89a and then some other bytes");
  CHECK_THROWS_WITH_AS(io::load_parameters(*net, dir.file("foreign.prsm")),
                       doctest::Contains("not a prism parameter file"), Error);
  CHECK_THROWS_WITH_AS(io::load_parameters(*net, dir.file("missing.prsm")),
                       doctest::Contains("cannot open"), Error);
  CHECK(snapshot(*net) == before);
}

TEST_CASE("serialize: a header claiming huge tensors never allocates them") {
  TempDir dir;
  // count 1, name "x", ndim 2, dims 2^40 x 2^20, no data, then a valid CRC of that.
  std::string bytes = "PRSM";
  auto put32 = [&](uint32_t v) { bytes.append(reinterpret_cast<char*>(&v), 4); };
  auto put64 = [&](int64_t v) { bytes.append(reinterpret_cast<char*>(&v), 8); };
  put32(1), put32(1), put32(1);
  bytes += "x";
  put32(2), put64(int64_t{1} << 40), put64(int64_t{1} << 20);
  const uint32_t crc = static_cast<uint32_t>(
      crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(bytes.data()), bytes.size()));
  put32(crc);
  write_all(dir.file("huge.prsm"), bytes);
  CHECK_THROWS_WITH_AS(io::load_tensors(dir.file("huge.prsm")), doctest::Contains("bad dimension"),
                       Error);
}

TEST_CASE("serialize: archives keep tensors and exact 64-bit integers; load_tensors refuses them") {
  TempDir dir;
  io::Archive a;
  a.tensors = {{"w", Tensor::from({2, 2}, {1.5f, -2.0f, 0.0f, 3.25f})}, {"s", Tensor::scalar(7)}};
  const int64_t big = (int64_t{1} << 62) + 3;  // not representable as a float
  a.integers = {{"state", {big, -1, 0}}, {"empty", {}}};
  io::save_archive(a, dir.file("a.prsm"));
  const io::Archive b = io::load_archive(dir.file("a.prsm"));
  REQUIRE(b.tensors.size() == 2);
  CHECK(b.tensors[0].first == "w");
  CHECK(b.tensors[0].second.to_vector() == a.tensors[0].second.to_vector());
  CHECK(b.tensors[1].second.shape() == Shape{});
  REQUIRE(b.integers.size() == 2);
  CHECK(b.integers[0] == a.integers[0]);
  CHECK(b.integers[1].second.empty());
  CHECK_THROWS_WITH_AS(io::load_tensors(dir.file("a.prsm")), doctest::Contains("load_archive"),
                       Error);
  // In memory, as snapshots travel between ranks.
  const std::string bytes = io::encode_archive(a, "test");
  CHECK(bytes == read_all(dir.file("a.prsm")));
  CHECK(io::decode_archive(bytes, "test").integers[0].second[0] == big);

  io::Archive twice;
  twice.tensors = {{"x", Tensor::scalar(1)}};
  twice.integers = {{"x", {1}}};
  CHECK_THROWS_WITH_AS(io::save_archive(twice, dir.file("t.prsm")), doctest::Contains("unique"),
                       Error);
  CHECK_FALSE(fs::exists(dir.file("t.prsm")));
}

TEST_CASE("serialize: an archive's bad entry type or integer length is a clear error") {
  // count 1, name "n", then the type byte and a length, with a valid CRC of all that.
  auto file = [](uint8_t type, uint64_t length) {
    std::string bytes = "PRSM";
    auto put = [&](const auto& v) { bytes.append(reinterpret_cast<const char*>(&v), sizeof v); };
    put(uint32_t{2}), put(uint32_t{1}), put(uint32_t{1});
    bytes += "n";
    put(type), put(length);
    const auto crc = static_cast<uint32_t>(
        crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(bytes.data()), bytes.size()));
    put(crc);
    return bytes;
  };
  CHECK_THROWS_WITH_AS(io::decode_archive(file(7, 0), "f"), doctest::Contains("unknown type 7"),
                       Error);
  CHECK_THROWS_WITH_AS(io::decode_archive(file(1, uint64_t{1} << 60), "f"),
                       doctest::Contains("bad length"), Error);
  CHECK(io::decode_archive(file(1, 0), "f").integers.at(0).second.empty());
}
