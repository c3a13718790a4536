// Finite-difference gradient checks across ranks.
//
// The checked loss is the sum over ranks j of L_j = sum(R_j * f_j(inputs_j)), with R_j a random
// projection (the same on every rank when `same_projection`, for computations that are
// identical on every rank). Every rank computes its analytic gradient with backward; then all
// ranks walk one schedule together: for each rank r, input k and element i, rank r moves its
// element by +-eps, every rank evaluates f, and an allreduce sums the losses. When
// `per_rank_loss` the reference is one rank's loss (the total divided by the ranks), as
// GradRule::exact promises; otherwise the total, as ChainerMN's rule promises.
#pragma once

#include <doctest/doctest.h>

#include <functional>
#include <vector>

#include "dist/collectives.hpp"
#include "dist/mpi_comm.hpp"
#include "gradcheck.hpp"
#include "prism_dist.hpp"

namespace prism::testing {

struct DistGradCheck {
  bool same_projection = false;
  bool per_rank_loss = false;
  // The inputs are one tensor held by every rank (replicated): every rank moves the element
  // together, and every rank's gradient must be the whole derivative.
  bool replicated_input = false;
  double eps = 1e-2, atol = 2e-3, rtol = 2e-2;
};

inline void check_gradients_across(const dist::Communicator& comm,
                                   const std::function<Variable(const std::vector<Variable>&)>& f,
                                   const std::vector<Tensor>& inputs, DistGradCheck opt = {}) {
  std::vector<Variable> vars;
  for (const Tensor& t : inputs)
    vars.emplace_back(t.clone(), true);
  Variable y = f(vars);
  Rng rng(opt.same_projection ? 77 : 77 + static_cast<uint64_t>(comm.rank()));
  Tensor r = random_tensor(y.shape(), rng);
  y.backward(r);

  auto total_loss = [&]() {
    std::vector<Variable> probe;
    for (const Variable& v : vars)
      probe.emplace_back(v.data(), false);
    Tensor l = Tensor::scalar(static_cast<float>(projected(f(probe).data(), r)));
    dist::allreduce(comm, l);
    return static_cast<double>(l.item()) / (opt.per_rank_loss ? comm.size() : 1);
  };

  for (size_t k = 0; k < inputs.size(); ++k) {
    // Every rank learns every rank's element count, to walk the same schedule.
    std::vector<int64_t> counts{inputs[k].numel()};
    std::vector<int64_t> all(static_cast<size_t>(comm.size()));
    MPI_Allgather(counts.data(), 1, MPI_INT64_T, all.data(), 1, MPI_INT64_T, dist::mpi_comm(comm));
    Tensor x = vars[k].data();
    const Tensor g = vars[k].has_grad() ? vars[k].grad() : Tensor(x.shape());
    for (int owner = 0; owner < (opt.replicated_input ? 1 : comm.size()); ++owner)
      for (int64_t i = 0; i < all[static_cast<size_t>(owner)]; ++i) {
        const bool mine = opt.replicated_input || owner == comm.rank();
        const float saved = mine ? x[i] : 0.0f;
        if (mine) x[i] = saved + static_cast<float>(opt.eps);
        const double plus = total_loss();
        if (mine) x[i] = saved - static_cast<float>(opt.eps);
        const double minus = total_loss();
        if (!mine) continue;
        x[i] = saved;
        const double numeric = (plus - minus) / (2 * opt.eps);
        INFO("rank " << comm.rank() << " input " << k << " element " << i);
        CHECK(std::abs(g[i] - numeric) <= opt.atol + opt.rtol * std::abs(numeric));
      }
  }
}

}  // namespace prism::testing
