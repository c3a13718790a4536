#include "nn/replicated.hpp"

#include <vector>

#include "dist/collectives.hpp"

namespace prism::nn {

namespace {

NamedTensors replicated_state(const Module& module) {
  NamedTensors out;
  for (const auto& [name, p] : module.named_replicated_parameters())
    out.emplace_back(name, p.data());
  for (const auto& entry : module.named_replicated_buffers())
    out.push_back(entry);
  return out;
}

// FNV-1a over the bytes of the shape and the values: equal tensors hash equal everywhere.
uint64_t hash_of(const Tensor& t) {
  uint64_t h = 0xcbf29ce484222325ULL;
  auto mix = [&h](const void* data, size_t n) {
    const auto* bytes = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i)
      h = (h ^ bytes[i]) * 0x100000001b3ULL;
  };
  mix(t.shape().data(), t.shape().size() * sizeof(int64_t));
  mix(t.data(), static_cast<size_t>(t.numel()) * sizeof(float));
  return h;
}

}  // namespace

void broadcast_replicated(const dist::Communicator& comm, const Module& module, int root) {
  for (const auto& [name, t] : replicated_state(module)) {
    const Tensor theirs = dist::bcast(comm, t, root);
    PRISM_CHECK(theirs.shape() == t.shape(),
                "broadcast_replicated: " << name << " is " << to_string(t.shape()) << " here but "
                                         << to_string(theirs.shape()) << " on rank " << root);
    if (comm.rank() != root) t.copy_from(theirs);
  }
}

void check_replicated(const dist::Communicator& comm, const Module& module) {
  const NamedTensors state = replicated_state(module);
  std::vector<int64_t> mine{static_cast<int64_t>(state.size())};
  for (const auto& [name, t] : state)
    mine.push_back(static_cast<int64_t>(hash_of(t)));
  const std::vector<int64_t> lengths = dist::allgather_values(comm, std::vector<int64_t>{mine[0]});
  for (int r = 0; r < comm.size(); ++r)
    PRISM_CHECK(lengths[r] == mine[0], "check_replicated: rank " << r << " has " << lengths[r]
                                                                 << " replicated entries, rank "
                                                                 << comm.rank() << " has "
                                                                 << mine[0]);
  // Every rank's hashes, entry by entry.
  const std::vector<int64_t> all = dist::allgather_values(comm, mine);
  for (size_t e = 0; e < state.size(); ++e)
    for (int r = 1; r < comm.size(); ++r) {
      const int64_t h0 = all[1 + e], hr = all[r * mine.size() + 1 + e];
      PRISM_CHECK(h0 == hr, "check_replicated: " << state[e].first << " differs between rank 0 "
                                                 << "and rank " << r);
    }
}

}  // namespace prism::nn
