// One parameter file for all ranks (io/parallel_parameters.hpp): the filter partition's file is
// the serial model's, whatever the rank count it was saved or is loaded at; the seed
// partition's holds each rank's slices and loads only at its own rank count.
#include <doctest/doctest.h>

#include "dist/functions.hpp"
#include "gradcheck.hpp"
#include "io/parallel_parameters.hpp"
#include "io/parameters.hpp"
#include "nn/batch_normalization.hpp"
#include "nn/linear.hpp"
#include "nn/parallel_convolution_2d.hpp"
#include "nn/sequential.hpp"
#include "ops/shape.hpp"
#include "temp_dir.hpp"

using namespace prism;
using prism::nn::Layout;
using prism::nn::ParallelConvolution2D;
using prism::nn::Partition;
using prism::nn::Stationary;
using prism::testing::random_tensor;
using prism::testing::TempDir;

namespace {

// Both ways of the filter partition, biases, a sharded BN and a replicated head. On one rank
// (a default Communicator) it is the serial model.
std::shared_ptr<nn::Sequential> model(const dist::Communicator& comm, Partition partition) {
  manual_seed(1);
  auto net = std::make_shared<nn::Sequential>();
  auto conv1 =
      std::make_shared<ParallelConvolution2D>(comm, 4, 6, 3, 1, 1, false, dist::GradRule::exact,
                                              Layout::sharded, partition, Stationary::output);
  net->add(conv1);
  net->add(std::make_shared<nn::BatchNormalization>(conv1->output_shard(), 6));
  auto conv2 =
      std::make_shared<ParallelConvolution2D>(comm, 6, 5, 3, 1, 1, false, dist::GradRule::exact,
                                              Layout::sharded, partition, Stationary::input);
  net->add(conv2);
  net->add(
      [comm](const Variable& x) { return flatten(dist::functions::gather_channels(comm, x)); });
  net->add(std::make_shared<nn::Linear>(5 * 4 * 4, 3));
  return net;
}

// Every entry set to values that depend on its name and index only.
void fill(const nn::Module& m, float salt) {
  for (auto& [name, t] : m.named_tensors())
    for (int64_t i = 0; i < t.numel(); ++i)
      t.data()[i] = salt + 0.01f * float(i % 97) + 0.001f * float(name.size());
}

}  // namespace

TEST_CASE("parameter files, filter partition: the serial model's file, saved and loaded at any P") {
  const dist::Communicator comm = dist::Communicator::world();
  TempDir dir;  // rank 0's is the one used
  auto serial = model(dist::Communicator(), Partition::filter);
  Rng rng(4);
  for (auto& [name, t] : serial->named_tensors())  // trained-looking values
    t.copy_from(random_tensor(t.shape(), rng, 0.5f, 1.5f));
  if (comm.rank() == 0) io::save_parameters(*serial, dir.file("serial.prsm"));

  // Loaded at P: every entry is this rank's slice of the serial one's, so the outputs agree.
  auto parallel = model(comm, Partition::filter);
  io::load_parameters(comm, *parallel, dir.file("serial.prsm"));
  const Tensor x = random_tensor({2, 4, 4, 4}, rng);
  parallel->eval();
  serial->eval();
  CHECK(prism::testing::max_rel_diff((*parallel)(Variable(x)).data(),
                                     (*serial)(Variable(x)).data()) < 1e-5);

  // Saved at P: the serial model's file again, read by a single-process program.
  fill(*serial, 9.0f);  // so that what is compared below came from the file
  io::save_parameters(comm, *parallel, dir.file("parallel.prsm"));
  if (comm.rank() == 0) {
    auto fresh = model(dist::Communicator(), Partition::filter);
    io::load_parameters(*fresh, dir.file("parallel.prsm"));
    auto reread = model(dist::Communicator(), Partition::filter);
    io::load_parameters(*reread, dir.file("serial.prsm"));
    const NamedTensors got = fresh->named_tensors(), want = reread->named_tensors();
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      CAPTURE(got[i].first);
      CHECK(got[i].second.to_vector() == want[i].second.to_vector());
    }
  }

  // A wrong file is refused on every rank, by name, and changes nothing.
  const std::vector<float> before = parallel->named_parameters()[0].second.data().to_vector();
  if (comm.rank() == 0) {
    auto other = std::make_shared<nn::Sequential>();
    other->add(std::make_shared<nn::BatchNormalization>(3));
    io::save_parameters(*other, dir.file("other.prsm"));
    auto wider = model(dist::Communicator(), Partition::filter);
    wider->add(std::make_shared<nn::Linear>(3, 2));  // an entry too many: 5.W
    io::save_parameters(*wider, dir.file("wider.prsm"));
  }
  CHECK_THROWS_WITH_AS(io::load_parameters(comm, *parallel, dir.file("other.prsm")),
                       doctest::Contains("0.W: in the model but not in the file"), Error);
  CHECK_THROWS_WITH_AS(io::load_parameters(comm, *parallel, dir.file("wider.prsm")),
                       doctest::Contains("5.W: in the file but not in the model"), Error);
  CHECK_THROWS_WITH_AS(io::load_parameters(comm, *parallel, dir.file("missing.prsm")),
                       doctest::Contains("missing.prsm"), Error);
  CHECK(parallel->named_parameters()[0].second.data().to_vector() == before);
}

TEST_CASE("parameter files, seed partition: each rank's slices, at the same rank count only") {
  const dist::Communicator comm = dist::Communicator::world();
  const int p = comm.size();
  TempDir dir;
  auto saved = model(comm, Partition::seed);
  fill(*saved, 1.0f);
  for (const auto& [name, p] : saved->named_parameters())  // each rank's slices differ
    if (name == "0.W" || name == "2.W") p.data().data()[0] += float(comm.rank());
  io::save_parameters(comm, *saved, dir.file("seed.prsm"));
  auto loaded = model(comm, Partition::seed);
  io::load_parameters(comm, *loaded, dir.file("seed.prsm"));
  const NamedTensors got = loaded->named_tensors(), want = saved->named_tensors();
  for (size_t i = 0; i < got.size(); ++i) {
    CAPTURE(got[i].first);
    CHECK(got[i].second.to_vector() == want[i].second.to_vector());
  }
  if (p > 1 && comm.rank() == 0) {  // on one rank: refused, naming both counts
    auto one = model(dist::Communicator(), Partition::seed);
    const std::string counts = "holds " + std::to_string(p) + " ranks' of them: load it on " +
                               std::to_string(p) + " rank(s), not 1";
    CHECK_THROWS_WITH_AS(io::load_parameters(dist::Communicator(), *one, dir.file("seed.prsm")),
                         doctest::Contains(counts.c_str()), Error);
  }
}
