// Data parallelism's definition, as the tests check it: a model trained on a part of every
// batch (with its gradients averaged over the parts) ends where a model trained on the whole
// batches ends.
#pragma once

#include "dist_gradcheck.hpp"
#include "nn/module.hpp"
#include "ops/loss.hpp"
#include "optim/optimizer.hpp"

namespace prism::testing {

// `steps` random batches of `batch` examples of `example` shape and 3 classes, the same on every
// rank (from `seed`): `whole` trains on each batch, `part` on its examples [first, first +
// count). Then every parameter and buffer of the two must agree to 1e-5 (rel_l2_diff).
inline void check_part_trains_like_whole(nn::Module& whole, optim::Optimizer& whole_optimizer,
                                         nn::Module& part, optim::Optimizer& part_optimizer,
                                         Shape example, int64_t batch, int64_t first, int64_t count,
                                         int steps, uint64_t seed) {
  Rng rng(seed);
  example.insert(example.begin(), batch);
  for (int step = 0; step < steps; ++step) {
    const Tensor x = random_tensor(example, rng);
    Labels t(static_cast<size_t>(batch));
    for (int32_t& label : t)
      label = static_cast<int32_t>(rng.below(3));
    whole.zero_grad();
    softmax_cross_entropy(whole.forward(Variable(x)), t).backward();
    whole_optimizer.update();
    part.zero_grad();
    softmax_cross_entropy(part.forward(Variable(slice_axis(x, 0, first, count))),
                          Labels(t.begin() + first, t.begin() + first + count))
        .backward();
    part_optimizer.update();
  }
  const NamedTensors want = whole.named_tensors(), got = part.named_tensors();
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    CAPTURE(got[i].first);
    CHECK(rel_l2_diff(got[i].second, want[i].second) < 1e-5);
  }
}

}  // namespace prism::testing
