#include "dist/grid.hpp"

#include "core/error.hpp"

namespace prism::dist {

Grid::Grid(const Communicator& world, int model_ranks) {
  PRISM_CHECK(model_ranks >= 1 && world.size() % model_ranks == 0,
              "dist::Grid: " << world.size() << " ranks do not split into model groups of "
                             << model_ranks << " (it must divide the rank count)");
  const int group = world.rank() / model_ranks, place = world.rank() % model_ranks;
  model = world.split(group, place);
  data = world.split(place, group);
}

}  // namespace prism::dist
