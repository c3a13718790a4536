#include "train/trainer.hpp"

#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <iostream>

#include "dist/collectives.hpp"
#include "train/plot_report.hpp"
#include "train/print_report.hpp"
#include "train/progress_bar.hpp"
#include "train/snapshot.hpp"
#include "train/stop.hpp"

namespace prism::train {

std::pair<double, double> evaluate(nn::Classifier& model, data::Iterator& it,
                                   const dist::Communicator& data) {
  NoGradGuard no_grad;
  model.eval();
  std::vector<double> sums{0, 0, 0};  // loss, accuracy, examples
  while (std::optional<data::Batch> batch = it.next()) {
    model(Variable(batch->x), batch->labels);
    sums[0] += static_cast<double>(model.loss()) * batch->size();
    sums[1] += static_cast<double>(model.accuracy()) * batch->size();
    sums[2] += static_cast<double>(batch->size());
  }
  model.train();
  if (data.size() > 1) dist::allreduce_values(data, sums);
  PRISM_CHECK(sums[2] > 0, "evaluate: the iterator gave no examples");
  return {sums[0] / sums[2], sums[1] / sums[2]};
}

namespace {

// The highest of `mine` over comm's ranks (through dist, like every MPI call of the library).
int max_over(const dist::Communicator& comm, int mine) {
  if (comm.size() == 1) return mine;
  const std::vector<int64_t> all = dist::allgather_values(comm, std::vector<int64_t>{mine});
  return static_cast<int>(*std::max_element(all.begin(), all.end()));
}

// Whether any rank has been asked to stop, the same on every rank of the model group and of
// the data group, so of the whole grid: one small allreduce over each per step. -1: no; else
// the signal that asked (the highest, where ranks got different ones).
int stop_agreed(const dist::Communicator& model, const dist::Communicator& data) {
  return max_over(data, max_over(model, stop_requested() ? stop_signal() : -1));
}

// A write that was cut off (the process killed) leaves "<name>.tmp.<pid>": remove those whose
// process is gone. A live writer's, another run's in the same folder, stays.
void remove_stale_temporaries(const std::string& folder) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(folder, ec)) {
    const std::string name = entry.path().filename().string();
    const size_t at = name.rfind(".tmp.");
    if (at == std::string::npos || at + 5 == name.size()) continue;
    const std::string pid = name.substr(at + 5);
    if (pid.find_first_not_of("0123456789") != std::string::npos || pid.size() > 9) continue;
    if (::kill(static_cast<pid_t>(std::stol(pid)), 0) == 0 || errno != ESRCH) continue;
    std::filesystem::remove(entry.path(), ec);
  }
}

std::string log_path(const TrainerConfig& config) {
  if (!config.report || config.out.empty()) return "";
  std::filesystem::create_directories(config.out);
  return (std::filesystem::path(config.out) / "log").string();
}

}  // namespace

Trainer::Trainer(nn::Classifier& model, optim::Optimizer& optimizer, data::Iterator& train,
                 std::function<std::unique_ptr<data::Iterator>()> make_test_iterator,
                 TrainerConfig config)
    : model_(model),
      optimizer_(optimizer),
      train_(train),
      make_test_(std::move(make_test_iterator)),
      config_(std::move(config)),
      log_(log_path(config_)) {
  PRISM_CHECK(config_.epochs >= 1, "Trainer: epochs must be at least 1, got " << config_.epochs);
  PRISM_CHECK(make_test_ != nullptr, "Trainer: needs a test iterator factory");
  PRISM_CHECK(config_.snapshot_every >= 0,
              "Trainer: snapshot_every must be >= 0, got " << config_.snapshot_every);
  PRISM_CHECK(config_.snapshot_every == 0 || !config_.out.empty(),
              "Trainer: snapshots need an output folder (config.out)");
}

void Trainer::resume(const std::string& snapshot) {
  TrainingProgress progress = load_snapshot(config_.comm, snapshot, model_, optimizer_, train_);
  PRISM_CHECK(train_.epoch() <= config_.epochs,
              "Trainer: " << snapshot << " is from epoch " << train_.epoch() << ", past the "
                          << config_.epochs << " epochs to train");
  log_.set_entries(std::move(progress.log));
  elapsed_before_ = progress.elapsed_seconds;
  running_ = progress.running;
}

Trainer::RunEnd Trainer::run() {
  const bool show = config_.report && config_.progress;
  ProgressBar bar(config_.epochs);
  try {
    return run_with(bar, show);
  } catch (...) {  // an error mid-epoch: its message must not land on the bar's line
    if (show) bar.end_line();
    throw;
  }
}

Trainer::RunEnd Trainer::run_with(ProgressBar& bar, bool show) {
  PrintReport table({"epoch", "main/loss", "validation/main/loss", "main/accuracy",
                     "validation/main/accuracy", "elapsed_time"});
  const auto start = std::chrono::steady_clock::now();
  // The training means' sums: over the epoch so far, and since the last row (log_every). A
  // resumed run starts from the snapshot's, so its rows are those of a run never stopped.
  double& loss_sum = running_.loss_sum;
  double& accuracy_sum = running_.accuracy_sum;
  double& interval_loss = running_.interval_loss;
  double& interval_accuracy = running_.interval_accuracy;
  int64_t& steps = running_.steps;
  int64_t& interval_steps = running_.interval_steps;
  if (config_.report && !config_.out.empty()) remove_stale_temporaries(config_.out);
  auto seconds = [&] {
    return elapsed_before_ +
           std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  auto plot = [&] {
    if (!config_.report || config_.out.empty()) return;
    const std::filesystem::path out(config_.out);
    // A plot that cannot be written is worth a warning, not the run (and under MPI an error
    // here, on this rank alone, would leave the others waiting).
    try {
      plot_png(log_.entries(), {"main/loss", "validation/main/loss"}, "epoch",
               (out / "loss.png").string());
      plot_png(log_.entries(), {"main/accuracy", "validation/main/accuracy"}, "epoch",
               (out / "accuracy.png").string());
    } catch (const std::exception& e) {
      std::cerr << "warning: " << e.what() << "\n";
    }
  };
  while (train_.epoch() < config_.epochs) {
    if ((stop_signal_ = stop_agreed(config_.comm, config_.data)) >= 0) {  // between steps
      if (!config_.out.empty()) {
        stop_snapshot_ = (std::filesystem::path(config_.out) /
                          ("snapshot_iter_" + std::to_string(train_.iteration())))
                             .string();
        snapshot(stop_snapshot_, seconds());
      }
      if (show) bar.clear();
      return RunEnd::stopped;
    }
    const int64_t epoch_before = train_.epoch();
    std::optional<data::Batch> batch = train_.next();
    PRISM_CHECK(batch, "Trainer: the train iterator ended before epoch " << config_.epochs
                                                                         << " (use repeat)");
    // An epoch counts a row of the log and may trigger a snapshot: one batch must not pass
    // several at once, as a batch larger than the training set does.
    PRISM_CHECK(train_.epoch() - epoch_before <= 1,
                "Trainer: one batch of " << batch->labels.size() << " examples took the train "
                                         << "iterator from epoch " << epoch_before << " to "
                                         << train_.epoch() << "; each epoch needs at least one "
                                         << "batch (is the batch larger than the training set?)");
    model_.zero_grad();
    model_(Variable(batch->x), batch->labels).backward();
    optimizer_.update();
    // The whole batch's means (the data ranks' parts are equal), so every rank sums alike.
    std::vector<double> means{model_.loss(), model_.accuracy()};
    if (config_.data.size() > 1) {
      dist::allreduce_values(config_.data, means);
      for (double& m : means)
        m /= config_.data.size();
    }
    loss_sum += means[0];
    accuracy_sum += means[1];
    ++steps;
    interval_loss += means[0];
    interval_accuracy += means[1];
    ++interval_steps;
    if (show) bar.update(train_.iteration(), train_.epoch_detail(), means[0]);
    if (!train_.is_new_epoch()) {
      if (config_.log_every > 0 && train_.iteration() % config_.log_every == 0) {
        const double n = static_cast<double>(interval_steps);
        log_.add({{"epoch", train_.epoch_detail()},
                  {"iteration", static_cast<double>(train_.iteration())},
                  {"main/loss", interval_loss / n},
                  {"main/accuracy", interval_accuracy / n},
                  {"elapsed_time", seconds()}});
        interval_loss = interval_accuracy = 0;
        interval_steps = 0;
        plot();
      }
      continue;
    }

    std::unique_ptr<data::Iterator> test = make_test_();
    const auto [val_loss, val_accuracy] = evaluate(model_, *test, config_.data);
    const double elapsed = seconds();
    // The training means since the last row: the epoch's, or with log_every the last rows'
    // (as Chainer's LogReport averages over its trigger), so a plotted curve does not jump.
    const bool by_interval = config_.log_every > 0;
    const double n = static_cast<double>(by_interval ? interval_steps : steps);
    const double mean_loss = (by_interval ? interval_loss : loss_sum) / n;
    const double mean_accuracy = (by_interval ? interval_accuracy : accuracy_sum) / n;
    const Observation row{{"epoch", static_cast<double>(train_.epoch())},
                          {"iteration", static_cast<double>(train_.iteration())},
                          {"main/loss", mean_loss},
                          {"main/accuracy", mean_accuracy},
                          {"validation/main/loss", val_loss},
                          {"validation/main/accuracy", val_accuracy},
                          {"elapsed_time", elapsed}};
    log_.add(row);  // on every rank (in memory where not reporting), for the snapshots
    if (config_.report) {
      if (show) bar.clear();
      table.print(row);
      plot();
    }
    loss_sum = accuracy_sum = interval_loss = interval_accuracy = 0;
    steps = interval_steps = 0;
    const int64_t epoch = train_.epoch();
    if (config_.snapshot_every > 0 && epoch % config_.snapshot_every == 0) {
      const std::string path =
          (std::filesystem::path(config_.out) / ("snapshot_epoch_" + std::to_string(epoch)))
              .string();
      snapshot(path, elapsed);
    }
  }
  return RunEnd::completed;
}

void Trainer::snapshot(const std::string& path, double elapsed) {
  if (config_.data.rank() != 0) return;  // the other data ranks' groups hold the same state
  save_snapshot(config_.comm, path, model_, optimizer_, train_,
                {log_.entries(), elapsed, running_});
}

}  // namespace prism::train
