#include <doctest/doctest.h>

#include <unistd.h>

#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "gradcheck.hpp"

using namespace prism;

TEST_CASE("reports: PrintReport prints a header once and aligned rows") {
  std::ostringstream out;
  train::PrintReport report({"epoch", "main/loss", "elapsed_time"}, out);
  report.print({{"main/loss", 0.5}, {"epoch", 1}, {"elapsed_time", 2.25}});
  report.print({{"epoch", 2}});  // missing keys print blank
  CHECK(out.str() ==
        "epoch  main/loss  elapsed_time  \n"
        "1      0.5000     2.2500        \n"
        "2                               \n");
  CHECK_THROWS_AS(train::PrintReport({}, out), Error);
}

TEST_CASE("reports: LogReport writes one JSON object per line, whole, and escapes keys") {
  const auto path = (std::filesystem::temp_directory_path() /
                     ("prism_log_" + std::to_string(::getpid()) + ".jsonl"))
                        .string();
  {
    train::LogReport log(path);
    log.add({{"epoch", 1}, {"main/loss", 0.125}});
    log.add({{"epoch", 2}, {"we\"ird", std::nan("")}});
    std::ifstream f(path);
    std::stringstream text;
    text << f.rdbuf();
    CHECK(text.str() ==
          "{\"epoch\": 1, \"main/loss\": 0.125}\n{\"epoch\": 2, \"we\\\"ird\": null}\n");
    log.set_entries({log.entries()[0]});  // a resumed run rewrites what it continues from
    std::ifstream g(path);
    std::string line, rest;
    std::getline(g, line);
    CHECK(line == "{\"epoch\": 1, \"main/loss\": 0.125}");
    CHECK_FALSE(std::getline(g, rest));
  }
  std::filesystem::remove(path);
  train::LogReport bad("/nonexistent-dir/log");
  CHECK_THROWS_WITH_AS(bad.add({{"epoch", 1}}), doctest::Contains("cannot open"), Error);
}

TEST_CASE("reports: ProgressBar draws the epoch, the bar and the loss, and clears its line") {
  std::ostringstream out;
  train::ProgressBar bar(4, out, 0.0);
  bar.update(10, 1.0, 0.25);
  CHECK(out.str().find("epoch 2/4 [#####...............]  25.0%  10 iter") != std::string::npos);
  CHECK(out.str().find("loss 0.2500") != std::string::npos);
  bar.clear();
  CHECK(out.str().find("\r\033[K") != std::string::npos);
  // end_line keeps the bar and ends its line; with nothing drawn it writes nothing.
  bar.update(20, 2.0, 0.5);
  bar.end_line();
  CHECK(out.str().ends_with("loss 0.5000\n"));
  const std::string before = out.str();
  bar.end_line();
  CHECK(out.str() == before);
  CHECK_THROWS_AS(train::ProgressBar(0, out), Error);
}

namespace {

// Two separable blobs of 40 points and a linear classifier that learns them within a few
// epochs; batches of 8, so 5 iterations an epoch.
struct Blobs {
  std::shared_ptr<data::TensorDataset> set;
  nn::Classifier model;
  optim::MomentumSGD optimizer;
  data::SerialIterator train;
  static std::shared_ptr<data::TensorDataset> make_set() {
    Rng rng(4);
    const auto [x, t] = prism::testing::two_blobs(40, 1.5f, rng);
    return std::make_shared<data::TensorDataset>(x, t);
  }
  Blobs()
      : set(make_set()),
        model((manual_seed(1), std::make_shared<nn::Linear>(2, 2))),
        optimizer(model.named_parameters(), 0.1f),
        train(set, 8, true, true, 3) {}
  std::function<std::unique_ptr<data::Iterator>()> test() const {
    return [set = set] { return std::make_unique<data::SerialIterator>(set, 16, false, false); };
  }
};

}  // namespace

TEST_CASE("trainer: runs the epochs, evaluates each, and logs one row per epoch") {
  Blobs b;
  std::ostringstream quiet;
  train::TrainerConfig config;
  config.epochs = 3;
  config.progress = false;
  train::Trainer trainer(b.model, b.optimizer, b.train, b.test(), config);
  std::streambuf* saved = std::cout.rdbuf(quiet.rdbuf());  // the table goes to std::cout
  trainer.run();
  std::cout.rdbuf(saved);
  const auto& log = trainer.log().entries();
  REQUIRE(log.size() == 3);
  CHECK(log[2][0] == std::pair<std::string, double>{"epoch", 3});
  CHECK(log[2][1] == std::pair<std::string, double>{"iteration", 15});
  CHECK(quiet.str().find("validation/main/accuracy") != std::string::npos);
  data::SerialIterator check(b.set, 40, false, false);
  CHECK(train::evaluate(b.model, check).second == 1.0);
  CHECK(b.model.training());
}

TEST_CASE("trainer: a batch that spans several epochs is an error before it trains") {
  Blobs b;
  data::SerialIterator wide(b.set, 3 * b.set->size() + 1, true, true, 3);  // 3 epochs and more
  train::TrainerConfig config;
  config.epochs = 4;
  config.progress = false;
  config.report = false;
  train::Trainer trainer(b.model, b.optimizer, wide, b.test(), config);
  const auto before = b.model.named_parameters().front().second.data().to_vector();
  CHECK_THROWS_WITH_AS(trainer.run(), doctest::Contains("from epoch 0 to 3"), Error);
  CHECK(trainer.log().entries().empty());
  CHECK(b.model.named_parameters().front().second.data().to_vector() == before);  // no update
}

TEST_CASE("trainer: log_every adds a training row every N iterations, between the epoch rows") {
  Blobs b;
  train::TrainerConfig config;
  config.epochs = 2;
  config.progress = false;
  config.log_every = 2;
  train::Trainer trainer(b.model, b.optimizer, b.train, b.test(), config);
  std::ostringstream quiet;
  std::streambuf* saved = std::cout.rdbuf(quiet.rdbuf());
  trainer.run();
  std::cout.rdbuf(saved);
  // Iterations 2, 4, epoch 1 (5), 6, 8, epoch 2 (10).
  const auto& log = trainer.log().entries();
  REQUIRE(log.size() == 6);
  auto value = [&](size_t row, const std::string& key) {
    for (const auto& [k, v] : log[row])
      if (k == key) return v;
    return -1.0;
  };
  const double iterations[] = {2, 4, 5, 6, 8, 10}, epochs[] = {0.4, 0.8, 1, 1.2, 1.6, 2};
  for (size_t i = 0; i < 6; ++i) {
    CAPTURE(i);
    CHECK(value(i, "iteration") == iterations[i]);
    CHECK(value(i, "epoch") == doctest::Approx(epochs[i]));
    CHECK(value(i, "main/loss") > 0);
    // Only the epoch rows carry validation figures.
    CHECK((value(i, "validation/main/loss") >= 0) == (i == 2 || i == 5));
  }
  // The printed table has the epoch rows only.
  std::istringstream printed(quiet.str());
  int rows = 0;
  for (std::string line; std::getline(printed, line);) {
    const size_t first = line.find_first_not_of(' ');
    rows += first != std::string::npos && std::isdigit(static_cast<unsigned char>(line[first]));
  }
  CHECK(rows == 2);
}
