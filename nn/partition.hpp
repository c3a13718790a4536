// How a model-parallel layer is split over ranks and where its output lives: the choices
// nn::ParallelConvolution2D and the models built on it take. Apart from the layer, so that a
// model's header (nn/vgg16.hpp) names them without the MPI headers the layer needs.
#pragma once

namespace prism::nn {

// Where a parallel convolution's output lives.
enum class Layout {
  gathered,  // every rank holds every channel (allgather)
  sharded,   // rank r holds its shard of the K channels, the ones the next layer reads there
};

enum class Partition {
  seed,    // rank r reads input channels r, r + P, ...: a grouped convolution and a shuffle
  filter,  // rank r owns a block of the one K x C convolution: the ordinary layer, split
};

}  // namespace prism::nn
