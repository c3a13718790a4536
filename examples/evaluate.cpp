// Evaluates a trained VGG16 (train_vgg's <out>/model.prsm) on a test set: loss, accuracy and
// the confusion matrix.
//
//   build/examples/evaluate --model result/model.prsm --partition filter
//   mpiexec -n 2 build/examples/evaluate --model result/model.prsm --partition filter
//       [--dataset fashion-mnist|cifar10|cifar100|imagefolder] [--data-dir D]
//       [--layout sharded|gathered] [--batchsize 100] [--test-size N]
//
// A filter-partition file holds the full model, so it loads at any rank count, whatever the
// count it was trained at; a seed-partition file only at its own (io/parallel_parameters.hpp).
// Rank 0 reads the data and a MultiNodeIterator hands every rank the same batches.
#include <iomanip>
#include <iostream>
#include <memory>

#include "examples/args.hpp"
#include "examples/datasets.hpp"
#include "prism_dist.hpp"

using namespace prism;

namespace {

struct Options : examples::DatasetOptions {
  std::string model;
  std::string layout = "sharded";
  std::string partition = "filter";
  int64_t batchsize = 100;
};

int run(const Options& opt, const dist::Communicator& comm) {
  const bool root = comm.rank() == 0;
  std::shared_ptr<const data::Dataset> test;
  int64_t channels = 0, classes = 0;
  if (root) {
    auto [data, n] = examples::load_dataset(opt);
    channels = data.test->images().size(1);
    test = data.test;
    classes = n;
  }
  std::vector<int64_t> sizes{root ? test->size() : 0, channels, classes};
  dist::bcast_values(comm, sizes, 0);
  PRISM_CHECK(sizes[0] > 0, "evaluate: the test set is empty");
  if (!root) test = std::make_shared<data::EmptyDataset>(sizes[0]);

  nn::Classifier model(std::make_shared<nn::VGG16>(
      comm, sizes[1], sizes[2], examples::parse_layout(opt.layout, "evaluate"), 32,
      examples::parse_partition(opt.partition, "evaluate")));
  io::load_parameters(comm, model, opt.model);
  model.eval();

  const int64_t k = sizes[2];
  std::vector<int64_t> confusion(static_cast<size_t>(k * k));  // [true][predicted]
  double loss = 0;
  int64_t count = 0, correct = 0;
  data::MultiNodeIterator it(
      comm, std::make_unique<data::SerialIterator>(test, opt.batchsize, false, false));
  NoGradGuard no_grad;
  while (std::optional<data::Batch> batch = it.next()) {
    const Variable logits = model.forward(Variable(batch->x));
    loss += double(softmax_cross_entropy(logits, batch->labels).data().item()) * batch->size();
    const Tensor& z = logits.data();
    for (int64_t i = 0; i < batch->size(); ++i) {
      int64_t best = 0;
      for (int64_t c = 1; c < k; ++c)
        if (z[i * k + c] > z[i * k + best]) best = c;
      const int64_t truth = batch->labels[static_cast<size_t>(i)];
      ++confusion[static_cast<size_t>(truth * k + best)];
      correct += truth == best;
    }
    count += batch->size();
  }
  if (root) {
    std::cout << "VGG16 from " << opt.model << " on " << opt.dataset << "'s " << count
              << " test examples, " << comm.size() << " rank(s)\n"
              << std::fixed << std::setprecision(4) << "loss " << loss / double(count)
              << "  accuracy " << double(correct) / double(count) << "\n"
              << "confusion matrix (rows: true class, columns: predicted)\n";
    for (int64_t t = 0; t < k; ++t) {
      for (int64_t c = 0; c < k; ++c)
        std::cout << std::setw(6) << confusion[static_cast<size_t>(t * k + c)];
      std::cout << "\n";
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  dist::Environment env(argc, argv);
  const dist::Communicator comm = dist::Communicator::world();
  Options opt;
  examples::ArgParser args("evaluate", "Evaluates a VGG16 parameter file on a test set.");
  args.add("model", &opt.model, "the parameter file (train_vgg's <out>/model.prsm), required");
  args.add("dataset", &opt.dataset, "fashion-mnist, cifar10, cifar100 or imagefolder");
  args.add("data-dir", &opt.data_dir, "folder of the dataset's files, as train_vgg takes it");
  args.add("partition", &opt.partition, "the partition the model was trained with: seed or filter");
  args.add("layout", &opt.layout, "sharded or gathered (the same function either way)");
  args.add("batchsize", &opt.batchsize, "examples per forward pass");
  args.add("test-size", &opt.test_size, "use only the first N test examples (0: all)");
  try {
    if (!args.parse(argc, argv)) return 0;
    PRISM_CHECK(!opt.model.empty(), "evaluate: --model FILE is required");
    PRISM_CHECK(opt.batchsize >= 1, "evaluate: --batchsize must be at least 1");
    examples::check_dataset_options(opt, "evaluate");
    examples::parse_layout(opt.layout, "evaluate");
    examples::parse_partition(opt.partition, "evaluate");
  } catch (const std::exception& e) {
    if (comm.rank() == 0) std::cerr << "error: " << e.what() << "\n";
    return 2;
  }
  return run(opt, comm);  // an error from here on aborts every rank (dist::Environment)
}
