#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <map>

#include "dist/mpi_comm.hpp"
#include "gradcheck.hpp"
#include "prism_dist.hpp"
#include "temp_dir.hpp"
#include "training_steps.hpp"

using namespace prism;
using prism::testing::TempDir;

namespace {

// A channel-parallel model with partitioned weights (and their momentum), BN, Linear and
// dropout, fed by a multi-node iterator: everything a snapshot gathers and restores. Gathered,
// the BN is replicated; sharded, it is partitioned too (each rank's channels, and a second
// parallel convolution reads the shard).
struct ParallelRun {
  std::unique_ptr<nn::Classifier> model;
  std::unique_ptr<optim::MomentumSGD> optimizer;
  std::unique_ptr<data::MultiNodeIterator> train;

  ParallelRun(const dist::Communicator& comm, uint64_t seed, int64_t k = 7,
              nn::Layout layout = nn::Layout::gathered,
              nn::Partition partition = nn::Partition::seed) {
    manual_seed(seed);
    auto net = std::make_shared<nn::Sequential>();
    auto conv = std::make_shared<nn::ParallelConvolution2D>(
        comm, 5, k, 3, 1, 1, false, dist::GradRule::exact, layout, partition);
    net->add(conv);
    if (layout == nn::Layout::sharded) {
      net->add(std::make_shared<nn::BatchNormalization>(conv->output_shard(), k,
                                                        BatchNormConfig{.relu = true}));
      net->add(std::make_shared<nn::Dropout>(0.3f));
      net->add(std::make_shared<nn::ParallelConvolution2D>(comm, k, k, 3, 1, 1, false,
                                                           dist::GradRule::exact, layout, partition,
                                                           nn::Stationary::input));
      net->add([comm](const Variable& x) { return dist::functions::gather_channels(comm, x); });
    } else {
      net->add(std::make_shared<nn::BatchNormalization>(k));
      net->add(relu);
    }
    net->add(flatten);
    net->add(std::make_shared<nn::Dropout>(0.2f));
    net->add(std::make_shared<nn::Linear>(k * 16, 3));
    model = std::make_unique<nn::Classifier>(net);
    nn::broadcast_replicated(comm, *model);
    optimizer = std::make_unique<optim::MomentumSGD>(model->named_parameters(), 0.05f);
    optimizer->set_weight_decay(5e-4f);
    Rng rng(8);  // the same data on every rank; only root's is read
    Tensor x = prism::testing::random_tensor({10, 5, 4, 4}, rng);
    Labels t(10);
    for (int i = 0; i < 10; ++i)
      t[static_cast<size_t>(i)] = i % 3;
    auto set = std::make_shared<data::TensorDataset>(x, t);
    train = std::make_unique<data::MultiNodeIterator>(
        comm, std::make_unique<data::SerialIterator>(set, 4, true, true, seed));
  }
  void steps(int n) { prism::testing::train_steps(*model, *optimizer, *train, n); }
  std::vector<std::vector<float>> values() const {
    return prism::testing::training_values(*model, *optimizer);
  }
};

// True on every rank when `ok` holds on every rank.
bool everywhere(const dist::Communicator& comm, bool ok) {
  int mine = ok ? 1 : 0, all = 0;
  MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MIN, dist::mpi_comm(comm));
  return all == 1;
}

}  // namespace

TEST_CASE("snapshot: every rank's slice is gathered, restored, and training continues bitwise") {
  const dist::Communicator comm = dist::Communicator::world();
  TempDir dir;  // rank 0's is the one used
  ParallelRun whole(comm, 1);
  whole.steps(4);
  train::save_snapshot(comm, dir.file("snap"), *whole.model, *whole.optimizer, *whole.train,
                       {{{{"epoch", 1}}}, 3.0, {}});
  whole.steps(4);

  ParallelRun resumed(comm, 2);  // other slices, order and generator: all overwritten
  resumed.steps(1);
  const train::TrainingProgress progress = train::load_snapshot(
      comm, dir.file("snap"), *resumed.model, *resumed.optimizer, *resumed.train);
  CHECK(progress.elapsed_seconds == 3.0);
  CHECK(resumed.train->iteration() == 4);
  resumed.steps(4);
  CHECK(everywhere(comm, resumed.values() == whole.values()));
  nn::check_replicated(comm, *resumed.model);

  if (comm.rank() == 0) {
    const io::Archive file = io::load_archive(dir.file("snap"));
    int slices = 0;
    for (const auto& [name, t] : file.tensors)
      slices += name.starts_with("rank" + std::to_string(comm.size() - 1) + "/");
    CHECK(slices == 6);  // the last rank's weight and bias, with their momentum and counts
  }
}

TEST_CASE("snapshot: each rank sends and receives its own slices only, in messages of any cap") {
  const dist::Communicator comm = dist::Communicator::world();
  const int p = comm.size();
  TempDir dir;
  ParallelRun whole(comm, 1, 12);
  whole.steps(2);
  const dist::Traffic before_save = dist::traffic();
  train::save_snapshot(comm, dir.file("snap"), *whole.model, *whole.optimizer, *whole.train, {});
  // Saving, the slices go to rank 0 only: the others receive no more than the agreement flags.
  if (comm.rank() > 0) CHECK(dist::traffic().bytes_received - before_save.bytes_received < 16 * p);
  whole.steps(2);
  // The file's size, and for each rank the bytes of the other ranks' slices in it.
  std::vector<int64_t> sizes(static_cast<size_t>(p + 1), 0);
  if (comm.rank() == 0) {
    sizes[0] = static_cast<int64_t>(std::filesystem::file_size(dir.file("snap")));
    for (const auto& [name, t] : io::load_archive(dir.file("snap")).tensors)
      for (int r = 0; r < p; ++r)
        if (name.starts_with("rank") && !name.starts_with("rank" + std::to_string(r) + "/"))
          sizes[static_cast<size_t>(r + 1)] += t.numel() * 4;
  }
  dist::bcast_values(comm, sizes, 0);

  // Pieces of 1000 bytes: the part of each rank crosses in several messages, as a part above
  // 2 GiB would at the default cap.
  struct SmallMessages {  // for this scope only, whatever is thrown
    size_t before = dist::max_message_bytes();
    SmallMessages() { dist::set_max_message_bytes(1000); }
    ~SmallMessages() { dist::set_max_message_bytes(before); }
  };
  ParallelRun resumed(comm, 2, 12);
  const dist::Traffic before = dist::traffic();
  {
    SmallMessages small;
    train::load_snapshot(comm, dir.file("snap"), *resumed.model, *resumed.optimizer,
                         *resumed.train);
  }
  const dist::Traffic after = dist::traffic();
  resumed.steps(2);
  CHECK(everywhere(comm, resumed.values() == whole.values()));
  // Not the whole file: the other ranks' slices stay on rank 0.
  const int64_t received = after.bytes_received - before.bytes_received;
  if (comm.rank() > 0) {
    CHECK(received > 1000);
    CHECK(received <= sizes[0] - sizes[static_cast<size_t>(comm.rank() + 1)]);
  }
  if (comm.rank() == 0 && p > 1) CHECK(after.bytes_sent - before.bytes_sent > 1000 * (p - 1));
}

TEST_CASE("send_bytes and recv_bytes: any length, in pieces, in order") {
  const dist::Communicator comm = dist::Communicator::world();
  const int p = comm.size(), rank = comm.rank();
  CHECK_THROWS_AS(dist::set_max_message_bytes(0), Error);
  // Rank 0 sends rank r two strings: r * 100 + 3 bytes, then an empty one, in pieces of 7 bytes
  // (not a divisor), while the receivers keep 1 GiB: the sender's piece size rules.
  if (rank == 0) {
    const size_t before = dist::max_message_bytes();
    dist::set_max_message_bytes(7);
    for (int r = 1; r < p; ++r) {
      std::string text(static_cast<size_t>(r * 100 + 3), '\0');
      for (size_t i = 0; i < text.size(); ++i)
        text[i] = static_cast<char>('a' + (i + static_cast<size_t>(r)) % 26);
      dist::send_bytes(comm, text, r);
      dist::send_bytes(comm, "", r);
    }
    dist::set_max_message_bytes(before);
  } else {
    const std::string got = dist::recv_bytes(comm, 0);
    REQUIRE(got.size() == static_cast<size_t>(rank * 100 + 3));
    bool same = true;
    for (size_t i = 0; i < got.size(); ++i)
      same = same && got[i] == static_cast<char>('a' + (i + static_cast<size_t>(rank)) % 26);
    CHECK(same);
    CHECK(dist::recv_bytes(comm, 0).empty());
  }
  CHECK_THROWS_AS(dist::send_bytes(comm, "x", p), Error);  // no such rank: refused locally
}

TEST_CASE("snapshot: a sharded run's partitioned BN is saved per rank and resumes bitwise") {
  const dist::Communicator comm = dist::Communicator::world();
  const int p = comm.size();
  TempDir dir;
  ParallelRun whole(comm, 1, 7, nn::Layout::sharded);
  whole.steps(3);
  train::save_snapshot(comm, dir.file("snap"), *whole.model, *whole.optimizer, *whole.train, {});
  whole.steps(3);

  ParallelRun resumed(comm, 2, 7, nn::Layout::sharded);
  resumed.steps(1);
  train::load_snapshot(comm, dir.file("snap"), *resumed.model, *resumed.optimizer, *resumed.train);
  resumed.steps(3);
  CHECK(everywhere(comm, resumed.values() == whole.values()));
  nn::check_replicated(comm, *resumed.model);

  if (comm.rank() == 0 && p > 1) {
    // Each rank's BN slice is its own entry, of that rank's channel count (one rank's BN is
    // the whole one, saved once).
    const io::Archive file = io::load_archive(dir.file("snap"));
    for (int r = 0; r < p; ++r) {
      const std::string prefix = "rank" + std::to_string(r) + "/";
      bool found = false;
      for (const auto& [name, t] : file.tensors)
        if (name.starts_with(prefix) && name.ends_with("avg_mean")) {
          found = true;
          CHECK(t.numel() == strided_shard(7, p, r).count());
        }
      CHECK(found);
    }
  }
  // A gathered model of the same sizes reads other entries: refused, nothing changed.
  if (p > 1) {
    ParallelRun gathered(comm, 3);
    const auto before = gathered.values();
    CHECK_THROWS_AS(train::load_snapshot(comm, dir.file("snap"), *gathered.model,
                                         *gathered.optimizer, *gathered.train),
                    Error);
    CHECK(everywhere(comm, gathered.values() == before));
  }
}

TEST_CASE("snapshot: another rank count or model is refused on every rank, nothing changed") {
  const dist::Communicator comm = dist::Communicator::world();
  TempDir dir;
  {
    // Each rank alone writes a 1-rank snapshot; rank 0's is the one the world reads.
    const dist::Communicator self = comm.split(comm.rank(), 0);
    ParallelRun alone(self, 1);
    train::save_snapshot(self, dir.file("one"), *alone.model, *alone.optimizer, *alone.train, {});
    ParallelRun all(comm, 1);
    train::save_snapshot(comm, dir.file("all"), *all.model, *all.optimizer, *all.train, {});
  }
  ParallelRun run(comm, 3);
  run.steps(1);
  const auto before = run.values();
  if (comm.size() > 1)
    CHECK_THROWS_WITH_AS(
        train::load_snapshot(comm, dir.file("one"), *run.model, *run.optimizer, *run.train),
        doctest::Contains("written by 1 ranks, this job has"), Error);
  ParallelRun wider(comm, 3, /*k=*/8);
  CHECK_THROWS_WITH_AS(
      train::load_snapshot(comm, dir.file("all"), *wider.model, *wider.optimizer, *wider.train),
      doctest::Contains("the snapshot has"), Error);
  CHECK_THROWS_WITH_AS(
      train::load_snapshot(comm, dir.file("missing"), *run.model, *run.optimizer, *run.train),
      doctest::Contains("cannot open"), Error);
  CHECK(everywhere(comm, run.values() == before));
  // Rank 0 cannot write: every rank hears it (none walks on into the next collective).
  CHECK_THROWS_AS(
      train::save_snapshot(comm, "/proc/prism/snap", *run.model, *run.optimizer, *run.train, {}),
      std::exception);
  run.steps(1);  // and the ranks are still in step
}

namespace {

// Every entry of `run` (model and optimizer) against the same entry of `serial`, the same model
// on one process: the whole of it, or this rank's slice of it (Module::entry_slices; an
// optimizer slot of a parameter's shape is sliced as the parameter).
void check_slices_of(const dist::Communicator& comm, const ParallelRun& run,
                     const ParallelRun& serial) {
  std::map<std::string, nn::EntrySlice> slices;
  for (const nn::EntrySlice& s : run.model->named_entry_slices())
    slices[s.name] = s;
  auto compare = [&](const NamedTensors& got, const NamedTensors& want, bool slots) {
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      CAPTURE(got[i].first);
      const std::string owner =
          slots ? got[i].first.substr(0, got[i].first.rfind('/')) : got[i].first;
      const auto it = slices.find(owner);
      const bool sliced = it != slices.end() && got[i].second.shape() != want[i].second.shape();
      const Tensor w =
          sliced ? io::cut_slice(want[i].second, it->second, comm.size(), comm.rank(), "test")
                 : want[i].second;
      CHECK(prism::testing::max_rel_diff(got[i].second, w) < 1e-5);
    }
  };
  compare(run.model->named_tensors(), serial.model->named_tensors(), false);
  compare(run.optimizer->state(), serial.optimizer->state(), true);
}

}  // namespace

TEST_CASE("snapshot, filter partition: full tensors, resumed at another rank count") {
  const dist::Communicator comm = dist::Communicator::world();
  const dist::Communicator self;  // this process alone: the serial model
  TempDir dir;
  // Every rank reads the serial snapshot, so they all use rank 0's folder.
  std::string folder = dir.path.string();
  std::vector<uint8_t> bytes(folder.begin(), folder.end());
  dist::bcast_values(comm, bytes, 0);
  folder.assign(bytes.begin(), bytes.end());
  const std::string serial_snap = folder + "/serial", parallel_snap = folder + "/parallel";
  auto run = [](const dist::Communicator& c, uint64_t seed) {
    return ParallelRun(c, seed, 7, nn::Layout::sharded, nn::Partition::filter);
  };

  // Trained 3 steps on one process, resumed on P ranks: the same model and optimizer.
  ParallelRun serial = run(self, 1);
  serial.steps(3);
  if (comm.rank() == 0)
    train::save_snapshot(self, serial_snap, *serial.model, *serial.optimizer, *serial.train, {});
  comm.barrier();
  ParallelRun parallel = run(comm, 2);
  train::load_snapshot(comm, serial_snap, *parallel.model, *parallel.optimizer, *parallel.train);
  CHECK(parallel.train->iteration() == 3);
  check_slices_of(comm, parallel, serial);
  // Both go on from the generator's state in the snapshot (one global generator serves both).
  const Rng::State saved = global_rng().state();
  parallel.steps(2);
  global_rng().set_state(saved);
  serial.steps(2);
  check_slices_of(comm, parallel, serial);
  nn::check_replicated(comm, *parallel.model);

  // Saved on P ranks: full tensors only, resumed on one process.
  train::save_snapshot(comm, parallel_snap, *parallel.model, *parallel.optimizer, *parallel.train,
                       {});
  if (comm.rank() == 0)
    for (const auto& [name, t] : io::load_archive(parallel_snap).tensors)
      CHECK_FALSE(name.starts_with("rank"));
  ParallelRun again = run(self, 3);
  train::load_snapshot(self, parallel_snap, *again.model, *again.optimizer, *again.train);
  CHECK(again.train->iteration() == 5);
  const Rng::State resumed = global_rng().state();
  again.steps(1);
  global_rng().set_state(resumed);
  serial.steps(1);
  check_slices_of(self, again, serial);

  // The other partition's snapshot is refused, and says why.
  ParallelRun seed(comm, 4, 7, nn::Layout::sharded, nn::Partition::seed);
  train::save_snapshot(comm, folder + "/seed", *seed.model, *seed.optimizer, *seed.train, {});
  CHECK_THROWS_WITH_AS(train::load_snapshot(comm, folder + "/seed", *parallel.model,
                                            *parallel.optimizer, *parallel.train),
                       doctest::Contains("the snapshot holds each rank's own slices"), Error);
  CHECK_THROWS_WITH_AS(
      train::load_snapshot(comm, parallel_snap, *seed.model, *seed.optimizer, *seed.train),
      doctest::Contains("the snapshot holds the full model"), Error);
  comm.barrier();  // every rank read rank 0's folder: it goes with rank 0's TempDir
}
