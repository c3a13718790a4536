// The seed's train.py in C++: VGG16 with channel-parallel convolutions over MPI.
//
//   mpiexec -n 2 build/examples/train_vgg [--dataset fashion-mnist] [--data-dir D]
//       [--batchsize 64] [--epoch 20] [--learnrate 0.05] [--out result] [--seed 0]
//
// Every rank builds the same model (its parallel convolutions hold its channel slice), rank 0
// reads the data and a MultiNodeIterator hands every rank the same batches; MomentumSGD with
// WeightDecay(5e-4), the test set evaluated after each epoch. Rank 0 prints and writes
// <out>/log. Fashion-MNIST's 28x28 images are padded to 32x32.
#include <iostream>
#include <memory>

#include "examples/args.hpp"
#include "prism.hpp"

using namespace prism;

namespace {

struct Options {
  std::string dataset = "fashion-mnist";
  std::string data_dir;  // default: the dataset's usual place
  int64_t batchsize = 64;
  int64_t epoch = 20;
  double learnrate = 0.05;
  std::string out = "result";
  int64_t seed = 0;
  int64_t train_size = 0;  // 0: the whole training set; else its first N examples
  int64_t test_size = 0;
};

data::TrainTest load(const Options& opt) {
  PRISM_CHECK(opt.dataset == "fashion-mnist",
              "train_vgg: --dataset " << opt.dataset << " is not supported yet (fashion-mnist is)");
  auto [train, test] = data::load_mnist_like(
      opt.data_dir.empty() ? std::string(data::kDebianFashionMnistDir) : opt.data_dir);
  train = data::pad_images(*train, 2);  // 28x28 -> 32x32
  test = data::pad_images(*test, 2);
  if (opt.train_size > 0) train = data::first_examples(*train, opt.train_size);
  if (opt.test_size > 0) test = data::first_examples(*test, opt.test_size);
  return {train, test};
}

int run(const Options& opt, const dist::Communicator& comm) {
  const bool root = comm.rank() == 0;
  manual_seed(static_cast<uint64_t>(opt.seed));  // the same on every rank: see nn/replicated.hpp

  // Rank 0 holds the data; the others keep empty datasets of the same lengths.
  std::shared_ptr<const data::Dataset> train, test;
  int64_t channels = 0;
  if (root) {
    auto [tr, te] = load(opt);
    channels = tr->images().size(1);
    train = tr, test = te;
  }
  std::vector<int64_t> sizes{root ? train->size() : 0, root ? test->size() : 0, channels};
  dist::bcast_values(comm, sizes, 0);
  if (!root) {
    train = std::make_shared<data::EmptyDataset>(sizes[0]);
    test = std::make_shared<data::EmptyDataset>(sizes[1]);
  }
  if (root)
    std::cout << "VGG16 on " << opt.dataset << ": " << sizes[0] << " train, " << sizes[1]
              << " test examples; " << comm.size() << " ranks x " << num_threads()
              << " threads; batch " << opt.batchsize << "\n";

  nn::Classifier model(std::make_shared<nn::VGG16>(comm, sizes[2], 10));
  nn::broadcast_replicated(comm, model);
  nn::MomentumSGD optimizer(model.named_parameters(), static_cast<float>(opt.learnrate));
  optimizer.add_hook(nn::WeightDecay(5e-4f));

  data::MultiNodeIterator train_iter(
      comm, std::make_unique<data::SerialIterator>(train, opt.batchsize, true, true,
                                                   static_cast<uint64_t>(opt.seed)));
  auto test_iter = [&] {
    return std::make_unique<data::MultiNodeIterator>(
        comm, std::make_unique<data::SerialIterator>(test, opt.batchsize, false, false));
  };
  nn::Trainer trainer(model, optimizer, train_iter, test_iter,
                      {.epochs = opt.epoch, .out = opt.out, .report = root});
  trainer.run();
  nn::check_replicated(comm, model);
  if (root) std::cout << "log: " << opt.out << "/log\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  dist::Environment env(argc, argv);
  const dist::Communicator comm = dist::Communicator::world();
  Options opt;
  examples::ArgParser args("train_vgg",
                           "Trains VGG16 with channel-parallel convolutions; run it under "
                           "mpiexec -n P.");
  args.add("dataset", &opt.dataset, "fashion-mnist");
  args.add("data-dir", &opt.data_dir, "folder of the dataset's files (default: Debian's)");
  args.add("batchsize", &opt.batchsize, "examples per step");
  args.add("epoch", &opt.epoch, "number of passes over the training set");
  args.add("learnrate", &opt.learnrate, "MomentumSGD's learning rate");
  args.add("out", &opt.out, "folder for the log");
  args.add("seed", &opt.seed, "seed of initialization, shuffling and dropout");
  args.add("train-size", &opt.train_size, "use only the first N training examples (0: all)");
  args.add("test-size", &opt.test_size, "use only the first N test examples (0: all)");
  // Bad arguments are the same on every rank: each rank reports and stops on its own.
  try {
    if (!args.parse(argc, argv)) return 0;
    PRISM_CHECK(opt.epoch >= 1 && opt.batchsize >= 1,
                "train_vgg: --epoch and --batchsize must be at least 1");
  } catch (const std::exception& e) {
    if (comm.rank() == 0) std::cerr << "error: " << e.what() << "\n";
    return 2;
  }
  return run(opt, comm);  // an error from here on aborts every rank (dist::Environment)
}
