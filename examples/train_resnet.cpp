// Trains a ResNet for 32x32 images (nn::ResNet: ResNet-20, 32, 56, ...) on one process.
//
//   build/examples/train_resnet [--depth 20] [--dataset fashion-mnist|cifar10|cifar100|imagefolder]
//       [--data-dir D] [--batchsize 64] [--epoch 3] [--learnrate 0.05] [--frequency N]
//       [--out result_resnet] [--resume FILE] [--seed 0] [--threads N]
//
// MomentumSGD with weight decay 1e-4 (He et al.'s), the test set evaluated after each epoch.
// Prints the progress bar and a row per epoch, and writes <out>/log, <out>/loss.png,
// <out>/accuracy.png, a snapshot every --frequency epochs (<out>/snapshot_epoch_<N>; by default
// one at the end), which --resume continues exactly, and <out>/model.prsm at the end. SIGTERM
// or SIGINT stops after the step with a snapshot. Datasets: examples/datasets.hpp (Fashion-MNIST
// padded to 32x32).
#include <iostream>
#include <memory>

#include "examples/args.hpp"
#include "examples/datasets.hpp"
#include "prism.hpp"

using namespace prism;

namespace {

struct Options : examples::DatasetOptions {
  int64_t depth = 20;
  int64_t batchsize = 64;
  int64_t epoch = 3;
  double learnrate = 0.05;
  int64_t frequency = -1;  // epochs between snapshots; -1: one at the end
  std::string out = "result_resnet";
  std::string resume;
  int64_t seed = 0;
  int64_t threads = 0;  // 0: OpenMP's default
};

int run(const Options& opt) {
  manual_seed(static_cast<uint64_t>(opt.seed));
  if (opt.threads > 0) set_num_threads(static_cast<int>(opt.threads));
  auto [data, classes] = examples::load_dataset(opt);
  auto [train, test] = data;
  PRISM_CHECK(opt.batchsize <= train->size(), "train_resnet: --batchsize "
                                                  << opt.batchsize << " is larger than the "
                                                  << train->size() << " training examples");
  const Shape sizes = train->get(0).x.shape();  // [C, 32, 32]
  std::cout << "ResNet-" << opt.depth << ": train " << train->size() << ", test " << test->size()
            << " examples of " << opt.dataset << ", " << classes << " classes; " << num_threads()
            << " threads\n";

  nn::Classifier model(std::make_shared<nn::ResNet>(opt.depth, sizes[0], classes));
  optim::MomentumSGD optimizer(model.named_parameters(), static_cast<float>(opt.learnrate));
  optimizer.set_weight_decay(1e-4f);
  data::SerialIterator train_iter(train, opt.batchsize, /*repeat=*/true, /*shuffle=*/true,
                                  static_cast<uint64_t>(opt.seed));
  auto test_iter = [test = test, &opt] {
    return std::make_unique<data::SerialIterator>(test, opt.batchsize, false, false);
  };
  train::Trainer trainer(model, optimizer, train_iter, test_iter,
                         {.epochs = opt.epoch,
                          .out = opt.out,
                          .snapshot_every = opt.frequency == -1 ? opt.epoch : opt.frequency});
  if (!opt.resume.empty()) {
    trainer.resume(opt.resume);
    std::cout << "resumed from " << opt.resume << " at epoch " << train_iter.epoch() << "\n";
  }
  if (trainer.run() == train::Trainer::RunEnd::stopped) {
    std::cout << "stopped by signal " << trainer.stop_signal() << " after iteration "
              << train_iter.iteration() << "; continue with --resume " << trainer.stop_snapshot()
              << "\n";
    return train::stopped_exit_status(trainer.stop_signal());
  }
  io::save_parameters(model, opt.out + "/model.prsm");
  std::cout << "log: " << opt.out << "/log; plots: " << opt.out << "/loss.png, " << opt.out
            << "/accuracy.png; model: " << opt.out << "/model.prsm\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  train::install_stop_handlers();
  Options opt;
  examples::ArgParser args("train_resnet", "Trains a ResNet for 32x32 images on one process.");
  args.add("depth", &opt.depth, "6 n + 2: 20, 32, 44, 56, 110, ...");
  args.add("dataset", &opt.dataset, "fashion-mnist, cifar10, cifar100 or imagefolder");
  args.add("data-dir", &opt.data_dir,
           "folder of the dataset's files (Fashion-MNIST: Debian's by default; CIFAR: the "
           "unpacked binary version, required; imagefolder: holds train/<class>/* and "
           "test/<class>/*, required)");
  args.add("batchsize", &opt.batchsize, "examples per step");
  args.add("epoch", &opt.epoch, "number of passes over the training set");
  args.add("learnrate", &opt.learnrate, "MomentumSGD's learning rate");
  args.add("frequency", &opt.frequency, "epochs between snapshots (-1: one at the end)");
  args.add("out", &opt.out, "folder for the log, plots and snapshots");
  args.add("resume", &opt.resume, "continue from this snapshot");
  args.add("seed", &opt.seed, "seed of initialization and shuffling");
  args.add("threads", &opt.threads, "OpenMP threads (0: the default)");
  args.add("train-size", &opt.train_size, "use only the first N training examples (0: all)");
  args.add("test-size", &opt.test_size, "use only the first N test examples (0: all)");
  try {
    if (!args.parse(argc, argv)) return 0;
    // Checked before the data loads: a bad flag costs nothing.
    PRISM_CHECK(opt.depth >= 8 && (opt.depth - 2) % 6 == 0,
                "train_resnet: --depth is 6 n + 2 (20, 32, 44, 56, 110, ...), got " << opt.depth);
    PRISM_CHECK(opt.epoch >= 1 && opt.batchsize >= 1,
                "train_resnet: --epoch and --batchsize must be at least 1");
    PRISM_CHECK(opt.frequency == -1 || opt.frequency >= 1,
                "train_resnet: --frequency is -1 or at least 1, got " << opt.frequency);
    PRISM_CHECK(opt.threads >= 0,
                "train_resnet: --threads is 0 (the default) or more, got " << opt.threads);
    examples::check_dataset_options(opt, "train_resnet");
    return run(opt);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
