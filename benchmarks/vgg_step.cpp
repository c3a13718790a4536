// vgg_step: one training step of the seed's VGG16 (32x32x3 inputs, 10 classes, batch 64 per
// rank): forward, softmax cross entropy, backward and a MomentumSGD update, as train_vgg runs
// it. Under mpiexec -n P the convolutions are channel-parallel over the P ranks; rank 0
// reports. Every rank runs the same fixed number of iterations, so the collectives line up.
//
//   vgg_step [--benchmark_repetitions=3]          # one process
//   mpiexec -n 2 vgg_step                          # 2 ranks
#include "core/rng.hpp"
#include "dist/communicator.hpp"
#include "mpi_bench.hpp"
#include "nn/classifier.hpp"
#include "nn/replicated.hpp"
#include "nn/vgg16.hpp"
#include "optim/momentum_sgd.hpp"

namespace {

using namespace prism;

constexpr int64_t kBatch = 64;

void bm_vgg_step(benchmark::State& state, const dist::Communicator& comm) {
  Rng rng(7);
  Tensor x({kBatch, 3, 32, 32});
  rng.fill_uniform(x, -1.0f, 1.0f);
  Labels t(kBatch);
  for (int64_t i = 0; i < kBatch; ++i)
    t[i] = static_cast<int32_t>(rng.below(10));
  nn::Classifier model(std::make_shared<nn::VGG16>(comm, 3, 10));
  nn::broadcast_replicated(comm, model);
  optim::MomentumSGD optimizer(model.named_parameters(), 0.01f);
  for (auto _ : state) {
    model.zero_grad();
    model(Variable(x), t).backward();
    optimizer.update();
  }
  state.counters["ranks"] = comm.size();
  state.counters["images_per_s"] =
      benchmark::Counter(double(kBatch), benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

int main(int argc, char** argv) {
  dist::Environment env(argc, argv);
  const dist::Communicator comm = dist::Communicator::world();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RegisterBenchmark("vgg16/train_step/N64", bm_vgg_step, comm)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime()
      ->Iterations(5);
  bench::run_on_every_rank(comm);
  benchmark::Shutdown();
  return 0;
}
