// Differentiable collectives on Variables (ChainerMN's chainermn.functions), forward and
// backward side by side, as every op in ops/. They live in dist::functions so that their names
// never meet the plain collectives on Tensors (dist/collectives.hpp) they are built from:
//   dist::allgather_concat(comm, tensor, 1, extents)       // a Tensor, no graph
//   dist::functions::allgather_concat(comm, variable, 1)   // a Variable, differentiable
//
// Each of these is a collective in backward too, so the rule is the same as for MPI calls:
// every rank must run backward through the same graph (the same collectives in the same
// order). Models built with the same code on every rank, as model-parallel ones are, do.
#pragma once

#include <vector>

#include "core/autograd.hpp"
#include "dist/collectives.hpp"
#include "dist/communicator.hpp"

namespace prism::dist {

// The two gradient rules of model-parallel layers, one idea at every level: the
// gathers below take one, and so does nn::ParallelConvolution2D.
enum class GradRule {
  // The gradient of the one loss that every rank computes, as the single-process model has it.
  // A gather's backward needs no communication: rank r's input gradient is the gradient on
  // rank r of its own piece. Valid when the computation after the gather is identical on every
  // rank (replicated layers on the same data): then that gradient is the same everywhere.
  // (Summing it over ranks, as chainermn does, would give P times it.)
  exact,
  // ChainerMN's rule: the gradient of the sum of all ranks' losses. Rank r's input gradient is
  // the sum, over ranks j, of the gradient flowing on rank j into piece r (one
  // MPI_Reduce_scatter). Right for any computation after the gather.
  chainermn,
};

namespace functions {

// Every rank's x, in rank order; shapes may differ between ranks. The pieces share one
// buffer (no copy after the MPI_Allgatherv).
std::vector<Variable> allgather(const Communicator& comm, const Variable& x,
                                GradRule rule = GradRule::chainermn);

// concat(allgather(comm, x, rule), axis), fused: the pieces arrive straight in their places in
// the result (no copy), and backward packs the gradient once into the reduce-scatter's buffer
// (chainermn) or copies this rank's block out (exact). The pieces must agree off `axis`.
// This is the channel-parallel convolution's hot path: allgather_concat(comm, y_local, 1).
// `extents`: every rank's size along axis when the caller knows them (ParallelConvolution2D
// knows its partition), saving the shape exchange; empty: exchanged and checked.
Variable allgather_concat(const Communicator& comm, const Variable& x, int64_t axis,
                          GradRule rule = GradRule::chainermn, std::vector<int64_t> extents = {});

// The mirror of allgather_concat(..., GradRule::chainermn): sums x over ranks and returns this
// rank's block along `axis`, extents[rank] wide (the blocks in rank order; extents must be the
// same on every rank and add up to x's size along axis). Backward allgathers the blocks'
// gradients: every rank's x gets the whole of it. The filter partition's X-stationary
// convolution sums its partial outputs with it.
Variable reduce_scatter(const Communicator& comm, const Variable& x, int64_t axis,
                        std::vector<int64_t> extents);

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

// Channel shards (see core/autograd.hpp's ChannelShard).
//
// dist::exchange_channels on a Variable, the result saying it holds `shard`. Backward runs the
// reverse exchange: each received channel's gradient goes back to the channels it came from.
// That is the whole gradient when no channel is sent to two places, as in every use here.
Variable exchange_channels(const Communicator& comm, const Variable& x,
                           const std::vector<ChannelRun>& send, const std::vector<ChannelRun>& recv,
                           int64_t channels, ChannelShard shard);

// A replicated x [N, C, ...] (the same on every rank) -> this rank's `shard` of it (of C
// channels): a local slice, no communication. Backward sums the gradient over ranks, as
// sum_gradients does (when x requires grad).
Variable shard_channels(const Communicator& comm, const Variable& x, const ChannelShard& shard);

// x holding strided_shard(C, P, rank), or block_shard(C, P, rank), on every rank -> all C
// channels on every rank (one exchange, each shard received straight into its places). Backward
// takes this rank's channels of the gradient, no communication: GradRule::exact, right when what
// follows is replicated (the same computation on every rank), as a model's classifier head is.
Variable gather_channels(const Communicator& comm, const Variable& x);

}  // namespace functions

}  // namespace prism::dist
