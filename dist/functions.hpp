// Differentiable collectives: forward and backward side by side, as every op in ops/.
//
// Each of these is a collective in backward too, so the rule is the same as for MPI calls:
// every rank must run backward through the same graph (the same collectives in the same
// order). Models built with the same code on every rank, as model-parallel ones are, do.
#pragma once

#include <vector>

#include "core/autograd.hpp"
#include "dist/communicator.hpp"

namespace prism::dist {

// How the gradient of an allgather's pieces returns to their owners.
enum class GatherGrad {
  // ChainerMN's rule: rank r's input gradient is the sum, over all ranks j, of the gradient
  // flowing on rank j into piece r (one MPI_Reduce_scatter). This is the gradient of the sum
  // of all ranks' losses, right for any computation after the gather.
  sum_over_ranks,
  // No communication: rank r's input gradient is the gradient on rank r of its own piece.
  // Valid only when the computation after the gather is identical on every rank (the same
  // replicated layers on the same data, so every rank computes the same loss): then the rank
  // r piece's gradient is the same everywhere and this is the exact gradient of that one
  // loss. (The sum over ranks would be P times it.)
  local,
};

// Every rank's x, in rank order; shapes may differ between ranks. The pieces share one
// buffer (no copy after the MPI_Allgatherv).
std::vector<Variable> allgather(const Communicator& comm, const Variable& x,
                                GatherGrad mode = GatherGrad::sum_over_ranks);

// concat(allgather(comm, x, mode), axis), fused: the pieces arrive straight in their places in
// the result (no copy), and backward packs the gradient once into the reduce-scatter's buffer
// (sum_over_ranks) or copies this rank's block out (local). The pieces must agree off `axis`.
// This is the channel-parallel convolution's hot path: allgather_concat(comm, y_local, 1).
// `extents`: every rank's size along axis when the caller knows them (ParallelConvolution2D
// knows its partition), saving the shape exchange; empty: exchanged and checked.
Variable allgather_concat(const Communicator& comm, const Variable& x, int64_t axis,
                          GatherGrad mode = GatherGrad::sum_over_ranks,
                          std::vector<int64_t> extents = {});

// Identity forward; backward sums the gradient over ranks (one MPI_Allreduce). Put it where a
// tensor that is the same on every rank enters computation that differs by rank (a model-
// parallel layer's channel slice): each rank's gradient then covers only its own slice's
// paths, and the sum makes the replicated tensor's gradient whole, and equal, on every rank.
Variable sum_gradients(const Communicator& comm, const Variable& x);

// root's x on every rank (x is read on root only; other ranks may pass Variable()). Backward:
// root's x gets the sum over ranks of the output's gradient. The output requires grad on every
// rank exactly when root's x does.
Variable bcast(const Communicator& comm, const Variable& x, int root);

// xs[j] goes to rank j; output j is what rank j sent here. Backward sends each output's
// gradient back to where it came from.
std::vector<Variable> alltoall(const Communicator& comm, const std::vector<Variable>& xs);

}  // namespace prism::dist
