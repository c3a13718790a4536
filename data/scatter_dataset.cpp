#include "data/scatter_dataset.hpp"

#include <string>
#include <vector>

#include "core/rng.hpp"
#include "data/iterator.hpp"
#include "dist/collectives.hpp"

namespace prism::data {

std::pair<int64_t, int64_t> scatter_range(int64_t n, int size, int rank) {
  const int64_t begin = n * rank / size;
  return {begin, begin + (n + size - 1) / size};
}

std::shared_ptr<TensorDataset> scatter_dataset(const dist::Communicator& comm,
                                               std::shared_ptr<const Dataset> dataset, int root,
                                               bool shuffle, uint64_t seed) {
  const int p = comm.size();
  const bool is_root = comm.rank() == root;
  // Root assembles the parts one after another in one batch; its verdict goes out first, so an
  // error there is an error everywhere rather than a hang.
  Batch all;
  std::string error;
  if (is_root) try {
      PRISM_CHECK(dataset != nullptr && dataset->size() > 0,
                  "scatter_dataset: root's dataset is null or empty");
      const int64_t n = dataset->size();
      Rng rng(seed);
      const std::vector<int64_t> order =
          shuffle ? random_permutation(n, rng) : std::vector<int64_t>();
      std::vector<int64_t> indices;
      for (int r = 0; r < p; ++r) {
        const auto [begin, end] = scatter_range(n, p, r);
        for (int64_t i = begin; i < end; ++i)
          indices.push_back(shuffle ? order[static_cast<size_t>(i)] : i);
      }
      all = make_batch(*dataset, indices);
    } catch (const Error& e) {
      error = e.what();
    }
  std::vector<uint8_t> message(error.begin(), error.end());
  dist::bcast_values(comm, message, root);
  PRISM_CHECK(message.empty(), std::string(message.begin(), message.end()));

  // Each part is [ceil(n / size), example...].
  std::vector<int64_t> shape = is_root ? all.x.shape() : std::vector<int64_t>();
  dist::bcast_values(comm, shape, root);
  shape[0] /= p;
  Tensor x(shape);
  Labels labels(static_cast<size_t>(shape[0]));
  dist::scatter_values(comm, is_root ? all.x.data() : nullptr, x.data(), x.numel(), root);
  dist::scatter_values(comm, is_root ? all.labels.data() : nullptr, labels.data(), shape[0], root);
  return std::make_shared<TensorDataset>(std::move(x), std::move(labels));
}

}  // namespace prism::data
