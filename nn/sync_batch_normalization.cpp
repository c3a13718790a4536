#include "nn/sync_batch_normalization.hpp"

#include "dist/collectives.hpp"

namespace prism::nn {

BatchNormConfig synchronized(const dist::Communicator& comm, BatchNormConfig config) {
  config.sum_over_batch = [comm](std::vector<double>& values) {
    dist::allreduce_values(comm, values);
  };
  return config;
}

}  // namespace prism::nn
