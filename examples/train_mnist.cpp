// Trains a small CNN on Fashion-MNIST (or MNIST) on one process: the "hello world" of prism.
//
//   build/examples/train_mnist [--data-dir D] [--epoch 3] [--batchsize 64] [--alpha 0.001]
//
// Reads the four IDX files (plain or .gz) of D; Debian's dataset-fashion-mnist package puts them
// in /usr/share/datasets/fashion-mnist. Prints a progress bar and one table row per epoch.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>

#include "examples/args.hpp"
#include "prism.hpp"

using namespace prism;

namespace {

struct Options {
  std::string data_dir = "/usr/share/datasets/fashion-mnist";
  int64_t epoch = 3;
  int64_t batchsize = 64;
  double alpha = 1e-3;
  int64_t seed = 0;
  int64_t threads = 0;  // 0: OpenMP's default
  std::string save;     // parameter file written at the end, if given
};

// conv 5x5 -> relu -> pool, twice, then two fully connected layers: about 91% on Fashion-MNIST.
std::shared_ptr<nn::Sequential> make_model() {
  auto pool = [](const Variable& x) { return max_pooling_2d(x, 2); };
  auto net = std::make_shared<nn::Sequential>();
  net->add(std::make_shared<nn::Convolution2D>(1, 16, 5, 1, 2));  // 16 x 28 x 28
  net->add(relu);
  net->add(pool);                                                  // 16 x 14 x 14
  net->add(std::make_shared<nn::Convolution2D>(16, 32, 5, 1, 2));  // 32 x 14 x 14
  net->add(relu);
  net->add(pool);  // 32 x 7 x 7
  net->add(flatten);
  net->add(std::make_shared<nn::Linear>(32 * 7 * 7, 128));
  net->add(relu);
  net->add(std::make_shared<nn::Linear>(128, 10));
  return net;
}

// Mean loss and accuracy over a whole dataset, in eval mode and without a graph.
std::pair<double, double> evaluate(nn::Classifier& model, std::shared_ptr<const data::Dataset> set,
                                   int64_t batchsize) {
  NoGradGuard no_grad;
  model.eval();
  data::SerialIterator it(std::move(set), batchsize, /*repeat=*/false, /*shuffle=*/false);
  double loss = 0, acc = 0;
  int64_t count = 0;
  while (auto batch = it.next()) {
    const auto n = static_cast<int64_t>(batch->labels.size());
    model(Variable(batch->x), batch->labels);
    loss += model.loss() * n;
    acc += model.accuracy() * n;
    count += n;
  }
  model.train();
  return {loss / count, acc / count};
}

int run(const Options& opt) {
  manual_seed(static_cast<uint64_t>(opt.seed));
  if (opt.threads > 0) set_num_threads(static_cast<int>(opt.threads));
  auto [train, test] = data::load_mnist_like(opt.data_dir);
  std::cout << "train " << train->size() << ", test " << test->size() << " examples from "
            << opt.data_dir << "; " << num_threads() << " threads\n";

  nn::Classifier model(make_model());
  nn::Adam optimizer(model.named_parameters(), opt.alpha);
  data::SerialIterator it(train, opt.batchsize, /*repeat=*/true, /*shuffle=*/true,
                          static_cast<uint64_t>(opt.seed));

  nn::ProgressBar bar(opt.epoch);
  nn::PrintReport report({"epoch", "main/loss", "validation/main/loss", "main/accuracy",
                          "validation/main/accuracy", "elapsed_time"});
  const auto start = std::chrono::steady_clock::now();
  double epoch_loss = 0, epoch_acc = 0;
  int64_t epoch_steps = 0;
  while (it.epoch() < opt.epoch) {
    data::Batch batch = *it.next();
    model.zero_grad();
    Variable loss = model(Variable(batch.x), batch.labels);
    loss.backward();
    optimizer.update();
    epoch_loss += model.loss();
    epoch_acc += model.accuracy();
    ++epoch_steps;
    bar.update(it.iteration(), it.epoch_detail(), model.loss());

    if (it.is_new_epoch()) {
      auto [val_loss, val_acc] = evaluate(model, test, 500);
      const double elapsed =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      bar.clear();
      report.print({{"epoch", static_cast<double>(it.epoch())},
                    {"main/loss", epoch_loss / epoch_steps},
                    {"validation/main/loss", val_loss},
                    {"main/accuracy", epoch_acc / epoch_steps},
                    {"validation/main/accuracy", val_acc},
                    {"elapsed_time", elapsed}});
      epoch_loss = epoch_acc = 0;
      epoch_steps = 0;
    }
  }
  if (!opt.save.empty()) {
    nn::save_parameters(model, opt.save);
    std::cout << "parameters saved to " << opt.save << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  examples::ArgParser args("train_mnist",
                           "Trains a small CNN on Fashion-MNIST (or MNIST) IDX files.");
  args.add("data-dir", &opt.data_dir, "folder with the four IDX files, plain or .gz");
  args.add("epoch", &opt.epoch, "number of passes over the training set");
  args.add("batchsize", &opt.batchsize, "examples per step");
  args.add("alpha", &opt.alpha, "Adam's step size");
  args.add("seed", &opt.seed, "seed of initialization and shuffling");
  args.add("threads", &opt.threads, "OpenMP threads (0: the default)");
  args.add("save", &opt.save, "write the trained parameters to this file");
  try {
    if (!args.parse(argc, argv)) return 0;
    PRISM_CHECK(opt.epoch >= 1, "train_mnist: --epoch must be at least 1, got " << opt.epoch);
    return run(opt);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
