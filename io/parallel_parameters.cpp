#include "io/parallel_parameters.hpp"

#include <map>
#include <set>

#include "core/error.hpp"
#include "dist/collectives.hpp"
#include "io/archive.hpp"

namespace prism::io {

namespace {

// One entry of this rank's module, in the module's order (the same names on every rank).
struct Entry {
  enum Kind { replicated, sliced, own };
  std::string name;
  Tensor value;  // a handle: copying into it changes the module
  Kind kind;
  nn::EntrySlice slice;  // when sliced
};

std::vector<Entry> entries_of(const nn::Module& module) {
  std::set<std::string> replicated;
  for (const auto& [name, p] : module.named_replicated_parameters())
    replicated.insert(name);
  for (const auto& [name, b] : module.named_replicated_buffers())
    replicated.insert(name);
  std::map<std::string, nn::EntrySlice> slices;
  for (const nn::EntrySlice& s : module.named_entry_slices())
    slices[s.name] = s;
  std::vector<Entry> out;
  auto add = [&](const std::string& name, const Tensor& t) {
    if (replicated.count(name)) {
      out.push_back({name, t, Entry::replicated, {}});
    } else if (auto it = slices.find(name); it != slices.end()) {
      PRISM_CHECK(it->second.axis >= 0 && it->second.axis < t.dim(),
                  "parameter files: " << name << " is sliced along axis " << it->second.axis
                                      << " but has shape " << to_string(t.shape()));
      out.push_back({name, t, Entry::sliced, it->second});
    } else {
      out.push_back({name, t, Entry::own, {}});
    }
  };
  for (const auto& [name, t] : module.named_tensors())
    add(name, t);
  return out;
}

// Between a slice and the full tensor: the slice's channel i along axis is the full tensor's
// shard.full_channel(i). to_full copies slice -> full, else full -> slice.
void copy_slice(const Tensor& slice, const Tensor& full, int64_t axis, const ChannelShard& shard,
                bool to_full) {
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d)
    outer *= full.size(d);
  for (int64_t d = axis + 1; d < full.dim(); ++d)
    inner *= full.size(d);
  const int64_t count = shard.count(), channels = full.size(axis);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < count; ++i) {
      float* s = slice.data() + (o * count + i) * inner;
      float* f = full.data() + (o * channels + shard.full_channel(i)) * inner;
      to_full ? std::copy_n(s, inner, f) : std::copy_n(f, inner, s);
    }
}

}  // namespace

void save_parameters(const dist::Communicator& comm, const nn::Module& module,
                     const std::string& path) {
  const int rank = comm.rank(), size = comm.size();
  const std::string where = "save_parameters: " + path;
  std::vector<Entry> entries;
  Archive mine;  // this rank's slices and own entries
  std::string error, encoded;
  try {
    entries = entries_of(module);
    for (const Entry& e : entries)
      if (e.kind != Entry::replicated) mine.tensors.emplace_back(e.name, e.value);
    if (rank > 0) encoded = encode_archive(mine, where + ": rank " + std::to_string(rank));
  } catch (const std::exception& e) {
    error = e.what();
  }
  dist::raise_on_every_rank(comm, error);  // before rank 0 waits for the others' parts
  if (rank > 0) {
    dist::send_bytes(comm, encoded, 0);
  } else {
    std::vector<std::string> received(static_cast<size_t>(size));
    for (int r = 1; r < size; ++r)
      received[static_cast<size_t>(r)] = dist::recv_bytes(comm, r);
    try {
      std::vector<Archive> parts(static_cast<size_t>(size));
      parts[0] = std::move(mine);
      for (int r = 1; r < size; ++r)
        parts[static_cast<size_t>(r)] = decode_archive(received[static_cast<size_t>(r)], where);
      Archive file;
      bool own = false;
      for (const Entry& e : entries) {
        if (e.kind == Entry::replicated) {
          file.tensors.emplace_back(e.name, e.value);
          continue;
        }
        std::vector<Tensor> pieces;  // every rank's
        for (int r = 0; r < size; ++r) {
          const Tensor* piece = find_entry(parts[static_cast<size_t>(r)].tensors, e.name);
          PRISM_CHECK(piece, where << ": rank " << r << " has no " << e.name);
          pieces.push_back(*piece);
        }
        if (e.kind == Entry::sliced) {
          file.tensors.emplace_back(e.name,
                                    assemble_slices(pieces, e.slice, where + ": " + e.name));
        } else {
          own = true;
          for (int r = 0; r < size; ++r)
            file.tensors.emplace_back(rank_key(r, e.name), pieces[static_cast<size_t>(r)]);
        }
      }
      if (own) file.integers.push_back({"ranks", {size}});
      save_archive(file, path);
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  dist::raise_on_every_rank(comm, error);
}

void load_parameters(const dist::Communicator& comm, nn::Module& module, const std::string& path) {
  const int rank = comm.rank(), size = comm.size();
  const std::string where = "load_parameters: " + path;
  std::vector<Entry> entries;
  std::vector<std::string> encoded(static_cast<size_t>(size));  // rank 0: every rank's part
  std::string error;
  try {
    entries = entries_of(module);
    if (rank == 0) {
      const Archive file = load_archive(path);
      const std::vector<int64_t>* ranks = find_entry(file.integers, std::string("ranks"));
      std::set<std::string> used;
      if (ranks) used.insert("ranks");
      for (const auto& [name, values] : file.integers)
        PRISM_CHECK(name == "ranks" && values.size() == 1 && values[0] >= 1,
                    where << ": " << name << ": not a parameter file's entry");
      std::vector<Archive> parts(static_cast<size_t>(size));
      for (const Entry& e : entries) {
        for (int r = 0; r < size; ++r) {
          Archive& part = parts[static_cast<size_t>(r)];
          if (e.kind == Entry::own) {
            PRISM_CHECK(ranks && (*ranks)[0] == size,
                        where << ": " << e.name << " is each rank's own (a seed-partition "
                              << "weight), and the file holds "
                              << (ranks ? std::to_string((*ranks)[0]) + " ranks' of them"
                                        : std::string("one full model"))
                              << ": load it on " << (ranks ? (*ranks)[0] : 1) << " rank(s), not "
                              << size);
            const Tensor* t = find_entry(file.tensors, rank_key(r, e.name));
            PRISM_CHECK(t, where << ": " << rank_key(r, e.name) << ": in the model but not in "
                                 << "the file");
            used.insert(rank_key(r, e.name));
            part.tensors.emplace_back(e.name, *t);
            continue;
          }
          const Tensor* t = find_entry(file.tensors, e.name);
          PRISM_CHECK(t, where << ": " << e.name << ": in the model but not in the file");
          used.insert(e.name);
          if (e.kind == Entry::replicated) {
            PRISM_CHECK(t->shape() == e.value.shape(),
                        where << ": " << e.name << ": file has " << to_string(t->shape())
                              << ", model has " << to_string(e.value.shape()));
            part.tensors.emplace_back(e.name, *t);
            continue;
          }
          const Tensor slice = cut_slice(*t, e.slice, size, r, where + ": " + e.name);
          part.tensors.emplace_back(e.name, slice);
        }
      }
      for (const auto& [name, t] : file.tensors)
        PRISM_CHECK(used.count(name),
                    where << ": " << name << ": in the file but not in the model");
      for (int r = 0; r < size; ++r)
        encoded[static_cast<size_t>(r)] = encode_archive(parts[static_cast<size_t>(r)], where);
    }
  } catch (const std::exception& e) {
    error = e.what();
  }
  dist::raise_on_every_rank(comm, error);
  std::string bytes;
  if (rank == 0) {
    for (int r = 1; r < size; ++r)
      dist::send_bytes(comm, encoded[static_cast<size_t>(r)], r);
    bytes = std::move(encoded[0]);
  } else {
    bytes = dist::recv_bytes(comm, 0);
  }
  // This rank checks its part (a rank's own entries have shapes only it knows), then copies.
  std::vector<const Tensor*> source;
  Archive part;
  try {
    part = decode_archive(bytes, where);
    for (const Entry& e : entries) {
      const Tensor* t = find_entry(part.tensors, e.name);
      PRISM_CHECK(t && t->shape() == e.value.shape(),
                  where << ": " << e.name << ": rank " << rank << " has "
                        << to_string(e.value.shape()) << ", the file "
                        << (t ? to_string(t->shape()) : std::string("nothing")));
      source.push_back(t);
    }
  } catch (const std::exception& e) {
    error = e.what();
  }
  dist::raise_on_every_rank(comm, error);
  for (size_t i = 0; i < entries.size(); ++i)
    entries[i].value.copy_from(*source[i]);
}

Tensor assemble_slices(const std::vector<Tensor>& slices, const nn::EntrySlice& slice,
                       const std::string& where) {
  PRISM_CHECK(!slices.empty(), where << ": no slices");
  const int size = static_cast<int>(slices.size());
  if (!slice.shard.sharded()) return slices[0];  // one rank holds it whole
  const size_t axis = static_cast<size_t>(slice.axis);
  Shape shape = slices[0].shape();
  PRISM_CHECK(axis < shape.size(), where << ": no axis " << axis << " in " << to_string(shape));
  shape[axis] = slice.shard.channels;
  Tensor full(shape);
  for (int r = 0; r < size; ++r) {
    const ChannelShard theirs = shard_of_rank(slice.shard, size, r);
    Shape want = shape;
    want[axis] = theirs.count();
    PRISM_CHECK(slices[static_cast<size_t>(r)].shape() == want,
                where << ": rank " << r << " holds "
                      << to_string(slices[static_cast<size_t>(r)].shape()) << ", not its slice "
                      << to_string(want));
    copy_slice(slices[static_cast<size_t>(r)], full, slice.axis, theirs, /*to_full=*/true);
  }
  return full;
}

Tensor cut_slice(const Tensor& full, const nn::EntrySlice& slice, int size, int rank,
                 const std::string& where) {
  if (!slice.shard.sharded() && size == 1) return full;
  const size_t axis = static_cast<size_t>(slice.axis);
  const ChannelShard theirs =
      slice.shard.sharded() ? shard_of_rank(slice.shard, size, rank) : ChannelShard{};
  PRISM_CHECK(
      axis < full.shape().size() && (!theirs.sharded() || full.size(slice.axis) == theirs.channels),
      where << ": the file has " << to_string(full.shape()) << ", the full model has "
            << (theirs.sharded() ? std::to_string(theirs.channels) : std::string("?"))
            << " along axis " << axis);
  if (!theirs.sharded()) return full;
  Shape shape = full.shape();
  shape[axis] = theirs.count();
  Tensor out(shape);
  copy_slice(out, full, slice.axis, theirs, /*to_full=*/false);
  return out;
}

std::string rank_key(int r, const std::string& name) {
  return "rank" + std::to_string(r) + "/" + name;
}

}  // namespace prism::io
