#include "data/synchronized_iterator.hpp"

#include <vector>

#include "dist/collectives.hpp"

namespace prism::data {

std::unique_ptr<SerialIterator> make_synchronized_iterator(const dist::Communicator& comm,
                                                           std::shared_ptr<const Dataset> dataset,
                                                           int64_t batch_size, bool repeat,
                                                           bool shuffle, uint64_t seed, int root) {
  const int64_t mine = dataset ? dataset->size() : -1;
  const std::vector<int64_t> sizes = dist::allgather_values(comm, std::vector<int64_t>{mine});
  for (int r = 0; r < comm.size(); ++r)
    PRISM_CHECK(sizes[static_cast<size_t>(r)] == sizes[0] && sizes[0] >= 0,
                "make_synchronized_iterator: every rank needs the same dataset; rank 0 has "
                    << sizes[0] << " examples, rank " << r << " has "
                    << sizes[static_cast<size_t>(r)] << " (-1: none)");
  std::vector<int64_t> shared{static_cast<int64_t>(seed)};
  dist::bcast_values(comm, shared, root);
  return std::make_unique<SerialIterator>(std::move(dataset), batch_size, repeat, shuffle,
                                          static_cast<uint64_t>(shared[0]));
}

}  // namespace prism::data
