// The seed's train.py in C++: VGG16 with channel-parallel convolutions over MPI.
//
//   mpiexec -n 2 build/examples/train_vgg [--dataset fashion-mnist|cifar10|cifar100|imagefolder]
//       [--data-dir D] [--batchsize 64] [--epoch 20] [--learnrate 0.05] [--frequency N]
//       [--out result] [--resume FILE] [--seed 0] [--layout sharded|gathered] [--log-every N]
//       [--partition seed|filter] [--model-parallel M]
//
// Every rank builds the same model (its parallel convolutions hold its channel slice, and with
// the default sharded layout its BN layers hold the channels it convolves), rank 0
// reads the data and a MultiNodeIterator hands every rank the same batches; MomentumSGD with
// weight decay 5e-4, the test set evaluated after each epoch.
//
// With --model-parallel M (a divisor of the rank count P; default P), the ranks form a data x
// model grid (dist::Grid): P / M model groups of M ranks each train the model on their part of
// every batch of --batchsize examples (which must split evenly over the groups), the training
// and test sets scattered over the groups (data::scatter_dataset), gradients averaged over the
// ranks that hold the same slice (optim::DataParallel) and every BN synchronized among them.
//
// Rank 0 prints and writes <out>/log, <out>/loss.png, <out>/accuracy.png and a snapshot every
// --frequency epochs (<out>/snapshot_epoch_<N>; by default one at the end), which --resume
// continues exactly, and at the end the trained parameters, <out>/model.prsm
// (io/parallel_parameters.hpp: the full model for --partition filter, which examples/evaluate loads
// at any rank count; each rank's slices for the seed partition). Datasets: examples/datasets.hpp.
#include <iostream>
#include <memory>

#include "examples/args.hpp"
#include "examples/datasets.hpp"
#include "prism_dist.hpp"

using namespace prism;

namespace {

struct Options : examples::DatasetOptions {
  std::string layout = "sharded";  // or gathered: see nn/vgg16.hpp
  std::string partition = "seed";  // or filter
  int64_t model_parallel = 0;      // ranks per model group; 0: all of them
  int64_t batchsize = 64;
  int64_t epoch = 20;
  double learnrate = 0.05;
  int64_t frequency = -1;  // epochs between snapshots; -1: one at the end (the seed's default)
  int64_t log_every = 0;   // iterations between training rows of the log and plots; 0: none
  std::string out = "result";
  std::string resume;
  int64_t seed = 0;
};

// This model group's share of a dataset that world rank 0 holds (null elsewhere): on its
// model rank 0 the examples, on the others an EmptyDataset of as many (MultiNodeIterator).
std::shared_ptr<const data::Dataset> share(const dist::Grid& grid,
                                           std::shared_ptr<const data::Dataset> all, bool shuffle,
                                           uint64_t seed) {
  std::shared_ptr<const data::Dataset> part = all;
  if (grid.model.rank() == 0 && grid.data.size() > 1)
    part = data::scatter_dataset(grid.data, all, 0, shuffle, seed);
  std::vector<int64_t> size{part ? part->size() : 0};
  dist::bcast_values(grid.model, size, 0);
  if (grid.model.rank() != 0) part = std::make_shared<data::EmptyDataset>(size[0]);
  return part;
}

int run(const Options& opt, const dist::Communicator& world) {
  const bool root = world.rank() == 0;
  manual_seed(static_cast<uint64_t>(opt.seed));  // the same on every rank: see nn/replicated.hpp
  const dist::Grid grid(
      world, opt.model_parallel == 0 ? world.size() : static_cast<int>(opt.model_parallel));
  const dist::Communicator &comm = grid.model, &data = grid.data;

  // Rank 0 holds the data; the others keep empty datasets of the same lengths.
  std::shared_ptr<const data::Dataset> train, test;
  int64_t channels = 0, classes = 0;
  if (root) {
    auto [loaded, n] = examples::load_dataset(opt);
    channels = loaded.train->images().size(1);
    classes = n;
    train = loaded.train, test = loaded.test;
  }
  std::vector<int64_t> sizes{root ? train->size() : 0, root ? test->size() : 0, channels, classes};
  dist::bcast_values(world, sizes, 0);
  // Every rank has the sizes now, so every rank stops here alike.
  const int64_t batch = opt.batchsize / data.size();  // per model group
  PRISM_CHECK(opt.batchsize <= sizes[0], "train_vgg: --batchsize "
                                             << opt.batchsize << " is larger than the " << sizes[0]
                                             << " training examples (an epoch needs at least one "
                                             << "batch)");
  train = share(grid, train, true, static_cast<uint64_t>(opt.seed));
  test = share(grid, test, false, 0);
  if (root) {
    std::cout << "VGG16 on " << opt.dataset << ": " << sizes[0] << " train, " << sizes[1]
              << " test examples; " << world.size() << " ranks x " << num_threads()
              << " threads; batch " << opt.batchsize;
    if (data.size() > 1)
      std::cout << "; " << data.size() << " model groups of " << comm.size() << " ranks, " << batch
                << " examples each";
    std::cout << "\n";
  }

  nn::Classifier model(std::make_shared<nn::VGG16>(
      comm, sizes[2], sizes[3], examples::parse_layout(opt.layout, "train_vgg"), 32,
      examples::parse_partition(opt.partition, "train_vgg"), data));
  nn::broadcast_replicated(comm, model);
  optim::MomentumSGD optimizer(model.named_parameters(), static_cast<float>(opt.learnrate));
  optimizer.set_weight_decay(5e-4f);
  std::unique_ptr<optim::DataParallel> data_parallel;
  if (data.size() > 1) data_parallel = std::make_unique<optim::DataParallel>(data, optimizer);

  data::MultiNodeIterator train_iter(
      comm, std::make_unique<data::SerialIterator>(train, batch, true, true,
                                                   static_cast<uint64_t>(opt.seed)));
  auto test_iter = [&] {
    return std::make_unique<data::MultiNodeIterator>(
        comm, std::make_unique<data::SerialIterator>(test, batch, false, false));
  };
  train::Trainer trainer(model, optimizer, train_iter, test_iter,
                         {.epochs = opt.epoch,
                          .out = opt.out,
                          .report = root,
                          .snapshot_every = opt.frequency == -1 ? opt.epoch : opt.frequency,
                          .log_every = opt.log_every,
                          .comm = comm,
                          .data = data});
  if (!opt.resume.empty()) {
    trainer.resume(opt.resume);
    if (root)
      std::cout << "resumed from " << opt.resume << " at epoch " << train_iter.epoch() << "\n";
  }
  if (trainer.run() == train::Trainer::RunEnd::stopped) {
    if (root)
      std::cout << "stopped by signal " << trainer.stop_signal() << " after iteration "
                << train_iter.iteration() << "; continue with --resume " << trainer.stop_snapshot()
                << "\n";
    return train::stopped_exit_status(trainer.stop_signal());
  }
  nn::check_replicated(comm, model);
  if (data.rank() == 0) io::save_parameters(comm, model, opt.out + "/model.prsm");
  if (root)
    std::cout << "log: " << opt.out << "/log; plots: " << opt.out << "/loss.png, " << opt.out
              << "/accuracy.png; model: " << opt.out << "/model.prsm\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  dist::Environment env(argc, argv);
  train::install_stop_handlers();  // SIGTERM, SIGINT: a snapshot after the step, then exit
  const dist::Communicator comm = dist::Communicator::world();
  Options opt;
  examples::ArgParser args("train_vgg",
                           "Trains VGG16 with channel-parallel convolutions; run it under "
                           "mpiexec -n P.");
  args.add("dataset", &opt.dataset, "fashion-mnist, cifar10, cifar100 or imagefolder");
  args.add("data-dir", &opt.data_dir,
           "folder of the dataset's files (Fashion-MNIST: Debian's by default; CIFAR: the "
           "unpacked binary version, required; imagefolder: holds train/<class>/* and "
           "test/<class>/*, required)");
  args.add("batchsize", &opt.batchsize, "examples per step");
  args.add("layout", &opt.layout,
           "sharded (each rank holds the channels its convolutions read) or gathered (every "
           "rank holds every channel, the seed's dataflow)");
  args.add("partition", &opt.partition,
           "seed (ChainerMN's: each rank reads every P-th input channel, a grouped model) or "
           "filter (the ordinary VGG16 split: each rank owns a block of every layer's filters)");
  args.add("model-parallel", &opt.model_parallel,
           "ranks per model group (a divisor of the rank count; 0: all of them); the groups "
           "train data-parallel");
  args.add("epoch", &opt.epoch, "number of passes over the training set");
  args.add("learnrate", &opt.learnrate, "MomentumSGD's learning rate");
  args.add("frequency", &opt.frequency, "epochs between snapshots (-1: one at the end)");
  args.add("out", &opt.out, "folder for the log, plots and snapshots");
  args.add("log-every", &opt.log_every,
           "also log and plot the training loss and accuracy every N iterations (0: per epoch)");
  args.add("resume", &opt.resume, "continue from this snapshot");
  args.add("seed", &opt.seed, "seed of initialization, shuffling and dropout");
  args.add("train-size", &opt.train_size, "use only the first N training examples (0: all)");
  args.add("test-size", &opt.test_size, "use only the first N test examples (0: all)");
  // Bad arguments are the same on every rank: each rank reports and stops on its own.
  try {
    if (!args.parse(argc, argv)) return 0;
    PRISM_CHECK(opt.epoch >= 1 && opt.batchsize >= 1,
                "train_vgg: --epoch and --batchsize must be at least 1");
    PRISM_CHECK(opt.model_parallel >= 0 && opt.model_parallel <= comm.size() &&
                    (opt.model_parallel == 0 || comm.size() % opt.model_parallel == 0),
                "train_vgg: --model-parallel must divide the " << comm.size() << " ranks, got "
                                                               << opt.model_parallel);
    const int64_t groups = opt.model_parallel == 0 ? 1 : comm.size() / opt.model_parallel;
    PRISM_CHECK(opt.batchsize % groups == 0,
                "train_vgg: --batchsize " << opt.batchsize << " does not split evenly over the "
                                          << groups << " model groups of --model-parallel "
                                          << opt.model_parallel);
    examples::check_dataset_options(opt, "train_vgg");
    PRISM_CHECK(opt.log_every >= 0, "train_vgg: --log-every is 0 or more, got " << opt.log_every);
    examples::parse_layout(opt.layout, "train_vgg");
    examples::parse_partition(opt.partition, "train_vgg");
    PRISM_CHECK(opt.frequency == -1 || opt.frequency >= 1,
                "train_vgg: --frequency is -1 or at least 1, got " << opt.frequency);
  } catch (const std::exception& e) {
    if (comm.rank() == 0) std::cerr << "error: " << e.what() << "\n";
    return 2;
  }
  return run(opt, comm);  // an error from here on aborts every rank (dist::Environment)
}
