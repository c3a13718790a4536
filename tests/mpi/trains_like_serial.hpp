// A model split over the ranks by filters (nn::Partition::filter) is the serial model, its
// parameters sliced: built from the same seed and trained on the same batch for a few steps,
// the two must give the same logits, loss, gradients and updated values, to float rounding.
#pragma once

#include <cmath>
#include <functional>
#include <memory>

#include "dist_gradcheck.hpp"
#include "nn/classifier.hpp"
#include "nn/parallel_convolution_2d.hpp"
#include "ops/loss.hpp"
#include "optim/momentum_sgd.hpp"

namespace prism::testing {

struct TrainedStep {
  std::vector<float> logits;
  float loss = 0;
  NamedTensors grads, values;  // values after the update, buffers included
};

// `steps` MomentumSGD steps (lr, weight decay) of make(on)'s model on (x, t), from
// manual_seed(seed).
inline std::vector<TrainedStep> train_steps(
    const std::function<std::shared_ptr<nn::Module>(const dist::Communicator&)>& make,
    const dist::Communicator& on, const Tensor& x, const Labels& t, int steps, uint64_t seed,
    float lr, float weight_decay) {
  manual_seed(seed);
  nn::Classifier model(make(on));
  optim::MomentumSGD optimizer(model.named_parameters(), lr);
  optimizer.set_weight_decay(weight_decay);
  std::vector<TrainedStep> out(static_cast<size_t>(steps));
  for (TrainedStep& step : out) {
    model.zero_grad();
    const Variable logits = model.forward(Variable(x));
    Variable loss = softmax_cross_entropy(logits, t);
    step.logits = logits.data().to_vector();
    step.loss = loss.data().item();
    loss.backward();
    for (const auto& [name, v] : model.named_parameters())
      step.grads.emplace_back(name, v.grad().clone());
    optimizer.update();
    for (const auto& [name, v] : model.named_tensors())
      step.values.emplace_back(name, v.clone());
  }
  return out;
}

// A parallel tensor that is not the serial one's shape is this rank's block of it along the one
// axis where they differ: axis 0 for Y-stationary filters and BN's channels, axis 1 for
// X-stationary filters, which read a block of input channels.
inline Tensor block_like(const Tensor& got, const Tensor& want, const dist::Communicator& comm) {
  for (int64_t axis = 0; axis < want.dim() && got.shape() != want.shape(); ++axis) {
    const int64_t n = want.size(axis);
    if (got.size(axis) == n) continue;
    return slice_axis(want, axis, block_offset(n, comm.size(), comm.rank()),
                      nn::ParallelConvolution2D::channel_count(n, comm.size(), comm.rank()));
  }
  return want;
}

// The parallel model's steps against the serial ones: logits and loss to 1e-5, gradients to
// 5e-5, values to 1e-5 (rel_l2_diff). Returns how many tensors were slices.
inline int64_t check_trains_like_serial(const std::vector<TrainedStep>& parallel,
                                        const std::vector<TrainedStep>& serial,
                                        const dist::Communicator& comm) {
  int64_t slices = 0;
  auto compare = [&](const NamedTensors& got, const NamedTensors& want, double tol) {
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      CAPTURE(got[i].first);
      REQUIRE(got[i].first == want[i].first);
      const Tensor w = block_like(got[i].second, want[i].second, comm);
      slices += w.shape() != want[i].second.shape();
      REQUIRE(got[i].second.shape() == w.shape());
      CHECK(rel_l2_diff(got[i].second, w) < tol);
    }
  };
  REQUIRE(parallel.size() == serial.size());
  for (size_t s = 0; s < serial.size(); ++s) {
    CAPTURE(s);
    const TrainedStep &want = serial[s], &got = parallel[s];
    const int64_t n = static_cast<int64_t>(want.logits.size());
    CHECK(rel_l2_diff(Tensor::from({n}, got.logits), Tensor::from({n}, want.logits)) < 1e-5);
    CHECK(std::abs(got.loss - want.loss) <= 1e-5 * std::abs(want.loss));
    compare(got.grads, want.grads, 5e-5);  // measured up to 1e-5 on 2-4 ranks
    compare(got.values, want.values, 1e-5);
  }
  return slices;
}

}  // namespace prism::testing
