// prism with its distributed half: prism.hpp, and model and data parallelism over MPI
// (communicators and grids, collectives, the differentiable collectives, ParallelConvolution2D,
// synchronized BN, DataParallel, the multi-node iterators, parallel parameter files). Includes
// mpi.h.
#pragma once

#include "data/multi_node_iterator.hpp"
#include "data/scatter_dataset.hpp"
#include "data/synchronized_iterator.hpp"
#include "dist/collectives.hpp"
#include "dist/communicator.hpp"
#include "dist/functions.hpp"
#include "dist/grid.hpp"
#include "io/parallel_parameters.hpp"
#include "nn/parallel_convolution_2d.hpp"
#include "nn/replicated.hpp"
#include "nn/sync_batch_normalization.hpp"
#include "optim/data_parallel.hpp"
#include "prism.hpp"
