#include <doctest/doctest.h>

#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "core/file.hpp"
#include "gradcheck.hpp"
#include "temp_dir.hpp"
#include "train/snapshot.hpp"
#include "train/stop.hpp"
#include "training_steps.hpp"

using namespace prism;
using prism::testing::TempDir;

namespace {

// A small model with every kind of state a snapshot must carry: parameters, BN running
// statistics (buffers), dropout (the global generator) and momentum (the optimizer).
struct Run {
  std::shared_ptr<nn::Sequential> net = std::make_shared<nn::Sequential>();
  std::unique_ptr<nn::Classifier> model;
  std::unique_ptr<optim::MomentumSGD> optimizer;
  std::unique_ptr<data::SerialIterator> train;

  Run(std::shared_ptr<const data::Dataset> set, uint64_t seed, int64_t hidden = 8) {
    manual_seed(seed);
    net->add(std::make_shared<nn::Linear>(2, hidden));
    net->add(std::make_shared<nn::BatchNormalization>(hidden));
    net->add(std::make_shared<nn::Dropout>(0.3f));
    net->add(std::make_shared<nn::Linear>(hidden, 2));
    model = std::make_unique<nn::Classifier>(net);
    optimizer = std::make_unique<optim::MomentumSGD>(model->named_parameters(), 0.1f);
    optimizer->set_weight_decay(5e-4f);
    train = std::make_unique<data::SerialIterator>(set, 6, true, true, seed);
  }
  void steps(int n) { prism::testing::train_steps(*model, *optimizer, *train, n); }
  std::vector<std::vector<float>> values() const {
    return prism::testing::training_values(*model, *optimizer);
  }
};

std::shared_ptr<data::TensorDataset> blobs() {
  Rng rng(4);
  const auto [x, t] = prism::testing::two_blobs(20, 1.5f, rng);
  return std::make_shared<data::TensorDataset>(x, t);
}

// A quiet trainer's config: `epochs`, files in `out`, snapshots or log rows every N.
train::TrainerConfig quiet_config(const std::string& out, int64_t epochs, int64_t snapshot_every,
                                  int64_t log_every) {
  train::TrainerConfig c;
  c.epochs = epochs;
  c.out = out;
  c.progress = false;
  c.snapshot_every = snapshot_every;
  c.log_every = log_every;
  return c;
}

// A log's rows with their elapsed time cut off: what two runs of one recipe share.
std::string without_time(const std::string& log) {
  std::string out;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);)
    out += line.substr(0, line.find("\"elapsed_time\"")) + "\n";
  return out;
}

}  // namespace

TEST_CASE("snapshot: a resumed run continues bitwise like one never stopped") {
  TempDir dir;
  auto set = blobs();
  Run whole(set, 1);
  whole.steps(5);  // crosses an epoch end (20 examples, batch 6)
  train::save_snapshot(dist::Communicator(), dir.file("snap"), *whole.model, *whole.optimizer,
                       *whole.train,
                       {{{{"epoch", 1}, {"main/loss", 0.25}, {"\xc2\xb5/loss", -1}}}, 12.5, {}});
  whole.steps(7);

  Run resumed(set, 99);  // other initial weights, order and generator: all overwritten
  resumed.steps(2);
  const train::TrainingProgress progress = train::load_snapshot(
      dist::Communicator(), dir.file("snap"), *resumed.model, *resumed.optimizer, *resumed.train);
  CHECK(progress.elapsed_seconds == 12.5);
  REQUIRE(progress.log.size() == 1);
  CHECK(progress.log[0][1] == std::pair<std::string, double>{"main/loss", 0.25});
  CHECK(progress.log[0][2].first == "\xc2\xb5/loss");  // UTF-8 keys survive
  resumed.steps(7);
  CHECK(resumed.values() == whole.values());
  CHECK(resumed.train->state() == whole.train->state());
  const Rng::State after_resume = global_rng().state();
  Run again(set, 1);  // the generator after the same 12 steps from the start
  again.steps(12);
  CHECK(after_resume == global_rng().state());
}

TEST_CASE("snapshot: a snapshot that does not fit is refused and nothing changes") {
  TempDir dir;
  auto set = blobs();
  Run saved(set, 1);
  saved.steps(3);
  train::save_snapshot(dist::Communicator(), dir.file("snap"), *saved.model, *saved.optimizer,
                       *saved.train, {});

  Run other(set, 2, /*hidden=*/9);
  other.steps(1);
  const auto before = other.values();
  const auto iterator_before = other.train->state();
  CHECK_THROWS_WITH_AS(
      train::load_snapshot(dist::Communicator(), dir.file("snap"), *other.model, *other.optimizer,
                           *other.train),
      doctest::Contains("model/predictor.0.W: the snapshot has [8, 2], the run has [9, 2]"), Error);
  CHECK_THROWS_WITH_AS(train::load_snapshot(dist::Communicator(), dir.file("none"), *other.model,
                                            *other.optimizer, *other.train),
                       doctest::Contains("cannot open"), Error);
  io::save_parameters(*other.model, dir.file("params"));
  CHECK_THROWS_WITH_AS(train::load_snapshot(dist::Communicator(), dir.file("params"), *other.model,
                                            *other.optimizer, *other.train),
                       doctest::Contains("no rank count"), Error);
  // The same model, but an iterator over another dataset: refused by the iterator, after
  // every other check, and still nothing changed.
  Run same_shape(set, 3);
  same_shape.train = std::make_unique<data::SerialIterator>(blobs(), 5, true, true, 3);
  const auto same_before = same_shape.values();
  CHECK_THROWS_WITH_AS(
      train::load_snapshot(dist::Communicator(), dir.file("snap"), *same_shape.model,
                           *same_shape.optimizer, *same_shape.train),
      doctest::Contains("batch size 6"), Error);
  CHECK_THROWS_WITH_AS(  // naming the snapshot
      train::load_snapshot(dist::Communicator(), dir.file("snap"), *same_shape.model,
                           *same_shape.optimizer, *same_shape.train),
      doctest::Contains((dir.file("snap") + ": SerialIterator::set_state").c_str()), Error);
  CHECK(same_shape.values() == same_before);
  // An optimizer over the predictor names its parameters without "predictor.".
  optim::MomentumSGD of_predictor(same_shape.net->named_parameters(), 0.1f);
  CHECK_THROWS_WITH_AS(train::save_snapshot(dist::Communicator(), dir.file("x"), *same_shape.model,
                                            of_predictor, *same_shape.train, {}),
                       doctest::Contains("is not a parameter of the model"), Error);
  CHECK(other.values() == before);
  CHECK(other.train->state() == iterator_before);
}

TEST_CASE("trainer: snapshots every N epochs; resume continues the log and the weights") {
  TempDir dir;
  auto set = blobs();
  auto test = [&] { return std::make_unique<data::SerialIterator>(set, 7, false, false); };
  auto config = [&](const std::string& out) { return quiet_config(out, 4, 2, 0); };
  std::ostringstream quiet;
  std::streambuf* saved = std::cout.rdbuf(quiet.rdbuf());
  Run whole(set, 1);
  train::Trainer(*whole.model, *whole.optimizer, *whole.train, test, config(dir.file("a"))).run();
  Run resumed(set, 5);
  train::Trainer trainer(*resumed.model, *resumed.optimizer, *resumed.train, test,
                         config(dir.file("b")));
  trainer.resume(dir.file("a/snapshot_epoch_2"));
  trainer.run();
  std::cout.rdbuf(saved);

  for (const char* f : {"snapshot_epoch_2", "snapshot_epoch_4", "log", "loss.png", "accuracy.png"})
    CHECK(std::filesystem::exists(dir / "a" / f));
  CHECK_FALSE(std::filesystem::exists(dir / "b" / "snapshot_epoch_2"));
  CHECK(resumed.values() == whole.values());
  // The logs agree row for row, elapsed time aside.
  const std::string a = read_file(dir.file("a/log"), "test"),
                    b = read_file(dir.file("b/log"), "test");
  CHECK(std::count(b.begin(), b.end(), '\n') == 4);
  CHECK(without_time(a) == without_time(b));

  train::TrainerConfig no_out = config("");
  CHECK_THROWS_WITH_AS(train::Trainer(*whole.model, *whole.optimizer, *whole.train, test, no_out),
                       doctest::Contains("need an output folder"), Error);
}

namespace {

// The train iterator of a run that is asked to stop after `at` iterations, as a signal would.
struct StopAfter : data::Iterator {
  data::Iterator& inner;
  int64_t at;
  StopAfter(data::Iterator& it, int64_t n) : inner(it), at(n) {}
  std::optional<data::Batch> next() override {
    std::optional<data::Batch> b = inner.next();
    if (inner.iteration() == at) train::request_stop(SIGTERM);
    return b;
  }
  int64_t epoch() const override { return inner.epoch(); }
  bool is_new_epoch() const override { return inner.is_new_epoch(); }
  double epoch_detail() const override { return inner.epoch_detail(); }
  double previous_epoch_detail() const override { return inner.previous_epoch_detail(); }
  int64_t iteration() const override { return inner.iteration(); }
  void reset() override { inner.reset(); }
  std::vector<int64_t> state() const override { return inner.state(); }
  void set_state(const std::vector<int64_t>& s) override { inner.set_state(s); }
};

}  // namespace

TEST_CASE("trainer: a stop request ends the run after a step with a snapshot that resumes it") {
  TempDir dir;
  auto set = blobs();
  auto test = [&] { return std::make_unique<data::SerialIterator>(set, 7, false, false); };
  auto config = [&](const std::string& out) { return quiet_config(out, 3, 0, 3); };
  std::ostringstream quiet;
  std::streambuf* saved = std::cout.rdbuf(quiet.rdbuf());
  Run whole(set, 1);
  CHECK(train::Trainer(*whole.model, *whole.optimizer, *whole.train, test, config(dir.file("a")))
            .run() == train::Trainer::RunEnd::completed);

  Run stopped(set, 1);
  StopAfter stopping(*stopped.train, 7);  // mid-epoch 2 (4 batches an epoch)
  train::Trainer first(*stopped.model, *stopped.optimizer, stopping, test, config(dir.file("b")));
  const train::Trainer::RunEnd end = first.run();
  CHECK(train::stop_signal() == SIGTERM);
  train::clear_stop();
  CHECK(end == train::Trainer::RunEnd::stopped);
  CHECK(stopped.train->iteration() == 7);
  CHECK(first.stop_snapshot() == dir.file("b/snapshot_iter_7"));
  for (const auto& e : std::filesystem::directory_iterator(dir / "b"))
    CHECK(e.path().filename().string().find(".tmp.") == std::string::npos);

  // A cut-off write of a process that is gone is removed on the next start; a live one's stays.
  std::filesystem::create_directories(dir / "c");
  write_file_atomic(dir.file("c/snapshot_epoch_1.tmp.999999999"), "cut off", "test");
  const std::string live = dir.file("c/other.tmp." + std::to_string(::getpid()));
  write_file_atomic(live, "being written", "test");
  Run resumed(set, 9);
  train::Trainer second(*resumed.model, *resumed.optimizer, *resumed.train, test,
                        config(dir.file("c")));
  second.resume(first.stop_snapshot());
  CHECK(second.run() == train::Trainer::RunEnd::completed);
  std::cout.rdbuf(saved);
  CHECK_FALSE(std::filesystem::exists(dir / "c" / "snapshot_epoch_1.tmp.999999999"));
  CHECK(std::filesystem::exists(live));
  CHECK(resumed.values() == whole.values());
  // Row for row, the training means of the interrupted epoch included (elapsed time aside).
  CHECK(without_time(read_file(dir.file("c/log"), "test")) ==
        without_time(read_file(dir.file("a/log"), "test")));
}
