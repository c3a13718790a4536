// Parameter files of a model-parallel model, one file for all ranks (io/parameters.hpp saves
// the entries of one process). Both calls are collective; rank 0 writes and reads the file.
//
// An entry that is a slice of a full tensor (nn::Module::entry_slices: the filter partition's
// weights, a sharded BN's channels) is stored whole, under its own name, so the file does not
// depend on the rank count: a model trained on 4 ranks loads on 1 or 2, and a single-process
// program reads the file with io::load_parameters into the serial model. Entries that are a
// rank's alone (the seed partition's grouped weights) are stored as "rank<r>/<name>" with the
// rank count, and such a file loads only at that count.
//
// Saving, each rank sends rank 0 its slices (dist::send_bytes); loading, rank 0 checks the file
// against the model, cuts each rank's part and sends it. Errors (a missing or extra entry, a
// shape, the rank count, the disk) are thrown on every rank, and a failed load changes nothing.
#pragma once

#include <string>

#include "dist/communicator.hpp"
#include "nn/module.hpp"

namespace prism::io {

void save_parameters(const dist::Communicator& comm, const nn::Module& module,
                     const std::string& path);
void load_parameters(const dist::Communicator& comm, nn::Module& module, const std::string& path);

// The two halves, for files that hold slices (these and train/snapshot.hpp's). slices[r] is
// rank r's slice of an entry that this rank holds as `slice`; every rank's shard comes from
// shard_of_rank. An error names `where` and the rank whose slice does not fit.
Tensor assemble_slices(const std::vector<Tensor>& slices, const nn::EntrySlice& slice,
                       const std::string& where);
// Rank `rank` of `size`'s slice of `full`; `full` must have the entry's full size on the axis.
Tensor cut_slice(const Tensor& full, const nn::EntrySlice& slice, int size, int rank,
                 const std::string& where);
// "rank<r>/<name>": the key of rank r's own copy of an entry that is not a slice of a full one.
std::string rank_key(int r, const std::string& name);

}  // namespace prism::io
