#include "train/snapshot.hpp"

#include <bit>
#include <filesystem>
#include <map>
#include <set>

#include "core/file.hpp"
#include "core/rng.hpp"
#include "dist/collectives.hpp"
#include "io/archive.hpp"
#include "io/parallel_parameters.hpp"

namespace prism::train {

namespace {

// One tensor of this rank's training state, under its key in a snapshot (before any "rank<r>/").
struct Entry {
  std::string key;
  Tensor value;  // a handle: copying into it changes the model or the optimizer
  bool partitioned;
  bool sliced = false;  // partitioned, and this rank's slice of a full tensor (see `slice`)
  nn::EntrySlice slice;
};

// Whether a snapshot of these entries holds full tensors (every partitioned entry a slice of
// one: the filter partition, resumable at any rank count) or each rank's slices.
bool full_tensors(const std::vector<Entry>& entries) {
  for (const Entry& e : entries)
    if (e.partitioned && !e.sliced) return false;
  return true;
}

// The same entries in the same order on every rank (the ranks build the same model).
std::vector<Entry> local_entries(const nn::Module& model, const NamedTensors& optimizer_state) {
  std::set<std::string> partitioned;
  for (const auto& [name, p] : model.named_parameters())
    partitioned.insert(name);
  for (const auto& [name, b] : model.named_buffers())
    partitioned.insert(name);
  for (const auto& [name, p] : model.named_replicated_parameters())
    partitioned.erase(name);
  for (const auto& [name, b] : model.named_replicated_buffers())
    partitioned.erase(name);

  std::vector<Entry> out;
  std::map<std::string, nn::EntrySlice> slices;
  for (const nn::EntrySlice& s : model.named_entry_slices())
    slices[s.name] = s;
  // A partitioned entry listed in slices is sliced; so is an optimizer slot of such a parameter
  // with its shape. A slot of another shape (the parameter's step count) counts the same on
  // every rank, and is stored once, as a replicated entry.
  auto add = [&](std::string key, const std::string& owner, const Tensor& t,
                 const Tensor* owner_value) {
    Entry e{std::move(key), t, partitioned.count(owner) > 0, false, {}};
    const auto it = slices.find(owner);
    if (e.partitioned && it != slices.end()) {
      e.sliced = !owner_value || owner_value->shape() == t.shape();
      e.partitioned = e.sliced;
      e.slice = it->second;
    }
    out.push_back(std::move(e));
  };
  std::map<std::string, Tensor> params;
  for (const auto& [name, p] : model.named_parameters()) {
    add("model/" + name, name, p.data(), nullptr);
    params[name] = p.data();
  }
  for (const auto& [name, b] : model.named_buffers())
    add("model/" + name, name, b, nullptr);
  // "<param>/<slot>" belongs to its parameter, which must be the model's (an optimizer built
  // from a submodule names them differently, and could not tell slices from replicas); "t" is
  // the optimizer's own.
  for (const auto& [name, t] : optimizer_state) {
    const size_t slash = name.rfind('/');
    const std::string owner = slash == std::string::npos ? "" : name.substr(0, slash);
    PRISM_CHECK(owner.empty() || params.count(owner),
                "snapshot: the optimizer's parameter '"
                    << owner << "' is not a parameter of the model (build the optimizer from "
                    << "the model the snapshot is given)");
    add("optimizer/" + name, owner, t, owner.empty() ? nullptr : &params[owner]);
  }
  return out;
}

// Log rows as integers: the row count, then per row its key count and per key the length, the
// characters and the value's bits.
std::vector<int64_t> encode_log(const std::vector<Observation>& log) {
  std::vector<int64_t> out{static_cast<int64_t>(log.size())};
  for (const Observation& row : log) {
    out.push_back(static_cast<int64_t>(row.size()));
    for (const auto& [key, value] : row) {
      out.push_back(static_cast<int64_t>(key.size()));
      for (unsigned char c : key)  // bytes as 0..255, so UTF-8 keys survive
        out.push_back(c);
      out.push_back(std::bit_cast<int64_t>(value));
    }
  }
  return out;
}

std::vector<int64_t> encode_running(const RunningMeans& r) {
  return {std::bit_cast<int64_t>(r.loss_sum),
          std::bit_cast<int64_t>(r.accuracy_sum),
          r.steps,
          std::bit_cast<int64_t>(r.interval_loss),
          std::bit_cast<int64_t>(r.interval_accuracy),
          r.interval_steps};
}

RunningMeans decode_running(const std::vector<int64_t>& in, const std::string& where) {
  PRISM_CHECK(in.size() == 6 && in[2] >= 0 && in[5] >= 0,
              where << ": the running means are malformed (" << in.size() << " words)");
  return {std::bit_cast<double>(in[0]), std::bit_cast<double>(in[1]), in[2],
          std::bit_cast<double>(in[3]), std::bit_cast<double>(in[4]), in[5]};
}

std::vector<Observation> decode_log(const std::vector<int64_t>& in, const std::string& where) {
  size_t pos = 0;
  auto next = [&](int64_t limit) {
    PRISM_CHECK(pos < in.size() && in[pos] >= 0 && in[pos] <= limit,
                where << ": the log entry is malformed at word " << pos);
    return in[pos++];
  };
  const auto bound = static_cast<int64_t>(in.size());  // no count can exceed the words left
  std::vector<Observation> log(static_cast<size_t>(next(bound)));
  for (Observation& row : log) {
    row.resize(static_cast<size_t>(next(bound)));
    for (auto& [key, value] : row) {
      key.resize(static_cast<size_t>(next(bound)));
      for (char& c : key)
        c = static_cast<char>(static_cast<unsigned char>(next(255)));
      PRISM_CHECK(pos < in.size(), where << ": the log entry is truncated");
      value = std::bit_cast<double>(in[pos++]);
    }
  }
  PRISM_CHECK(pos == in.size(), where << ": the log entry has extra words");
  return log;
}

// One archive per rank of `size`: the snapshot's integers, its replicated tensors and that
// rank's "rank<r>/" ones (sharing the tensors' storage).
// Each rank's part of a snapshot: the replicated entries and that rank's slices, its own
// "rank<r>/" entries or, for a model of full tensors (full_tensors), its slices cut from them.
std::vector<io::Archive> split_by_rank(const io::Archive& archive, int size,
                                       const std::vector<Entry>& entries,
                                       const std::string& where) {
  std::map<std::string, const Entry*> sliced;
  if (full_tensors(entries))
    for (const Entry& e : entries)
      if (e.partitioned) sliced[e.key] = &e;
  std::vector<io::Archive> parts(static_cast<size_t>(size), io::Archive{{}, archive.integers});
  for (const auto& [key, t] : archive.tensors) {
    int owner = -1;  // replicated
    if (key.starts_with("rank")) {
      const size_t slash = key.find('/');
      const std::string digits = key.substr(4, slash == std::string::npos ? 0 : slash - 4);
      if (!digits.empty() && digits.find_first_not_of("0123456789") == std::string::npos &&
          digits.size() < 10)
        owner = std::stoi(digits);
    }
    if (const auto it = sliced.find(key); owner < 0 && it != sliced.end()) {
      for (int r = 0; r < size; ++r)
        parts[static_cast<size_t>(r)].tensors.emplace_back(
            key, io::cut_slice(t, it->second->slice, size, r, where + ": " + key));
    } else if (owner < 0) {
      for (io::Archive& part : parts)
        part.tensors.emplace_back(key, t);
    } else if (owner < size) {  // a slice of a rank this job does not have: the rank count
      parts[static_cast<size_t>(owner)].tensors.emplace_back(key, t);  // check refuses it
    }
  }
  return parts;
}

}  // namespace

void save_snapshot(const dist::Communicator& comm, const std::string& path, const nn::Module& model,
                   const optim::Optimizer& optimizer, const data::Iterator& train,
                   const TrainingProgress& progress) {
  const int rank = comm.rank(), size = comm.size();
  // Rank 0 holds the replicated entries; every rank's slices go to it as one encoded archive
  // (dist::send_bytes), so no rank receives another's and no MPI count caps their size.
  // With full tensors (the filter partition), rank 0 assembles every rank's slice into the
  // entry's full tensor, stored under its own key.
  io::Archive archive, own;
  std::string error, encoded;
  std::vector<Entry> entries;
  try {
    entries = local_entries(model, optimizer.state());
    const bool full = full_tensors(entries);
    for (const Entry& e : entries) {
      if (e.partitioned)
        own.tensors.emplace_back(full ? e.key : io::rank_key(rank, e.key), e.value);
      else if (rank == 0)
        archive.tensors.emplace_back(e.key, e.value);
    }
    if (rank > 0) encoded = io::encode_archive(own, "save_snapshot: rank " + std::to_string(rank));
  } catch (const std::exception& e) {
    error = e.what();
  }
  dist::raise_on_every_rank(comm, error);  // before any rank waits for another's slices
  std::vector<std::string> slices(static_cast<size_t>(size));
  if (rank == 0)
    for (int r = 1; r < size; ++r)
      slices[static_cast<size_t>(r)] = dist::recv_bytes(comm, r);
  else
    dist::send_bytes(comm, encoded, 0);
  // Rank 0 writes; whether it could is every rank's business, so nobody walks on into the next
  // collective while rank 0 throws.
  if (rank == 0) try {
      std::vector<io::Archive> parts{own};
      for (int r = 1; r < size; ++r) {
        const std::string where = "save_snapshot: rank " + std::to_string(r) + "'s slices";
        parts.push_back(io::decode_archive(slices[static_cast<size_t>(r)], where));
      }
      if (full_tensors(entries)) {
        for (const Entry& e : entries) {
          if (!e.partitioned) continue;
          std::vector<Tensor> pieces;
          for (int r = 0; r < size; ++r) {
            const Tensor* piece = io::find_entry(parts[static_cast<size_t>(r)].tensors, e.key);
            PRISM_CHECK(piece, "save_snapshot: rank " << r << " sent no " << e.key);
            pieces.push_back(*piece);
          }
          archive.tensors.emplace_back(
              e.key, io::assemble_slices(pieces, e.slice, "save_snapshot: " + e.key));
        }
      } else {
        for (io::Archive& part : parts)
          for (auto& entry : part.tensors)
            archive.tensors.push_back(std::move(entry));
      }
      std::vector<int64_t> rng;
      for (uint64_t word : global_rng().state())
        rng.push_back(static_cast<int64_t>(word));
      const std::vector<int64_t> iterator = train.state();
      PRISM_CHECK(!iterator.empty(),
                  "save_snapshot: the training iterator has no state on rank "
                  "0 (a multi-node iterator must have its root there)");
      const std::filesystem::path parent = std::filesystem::path(path).parent_path();
      if (!parent.empty()) std::filesystem::create_directories(parent);
      archive.integers = {{"ranks", {size}},
                          {"iterator", iterator},
                          {"rng", rng},
                          {"log", encode_log(progress.log)},
                          {"elapsed", {std::bit_cast<int64_t>(progress.elapsed_seconds)}},
                          {"running", encode_running(progress.running)}};
      io::save_archive(archive, path);
    } catch (const std::exception& e) {
      error = e.what();
    }
  dist::raise_on_every_rank(comm, error);
}

TrainingProgress load_snapshot(const dist::Communicator& comm, const std::string& path,
                               nn::Module& model, optim::Optimizer& optimizer,
                               data::Iterator& train) {
  const int rank = comm.rank(), size = comm.size();
  const std::string where = "load_snapshot: " + path;
  // Rank 0 reads the file (it may exist on rank 0's machine only) and sends each rank its part:
  // the replicated entries and that rank's own slices, not the others'.
  // A part is encoded just before it is sent, so rank 0 holds the file's tensors and one part.
  // Should an encoding fail, its rank gets no bytes and fails to decode them, and rank 0's
  // message is the one every rank throws.
  std::string error, bytes;  // bytes: the part rank 0 sent, on the other ranks
  std::vector<io::Archive> parts;
  std::vector<Entry> entries;
  try {
    entries = local_entries(model, optimizer.state());
    if (rank == 0)
      parts = split_by_rank(io::decode_archive(read_file(path, "load_snapshot"), where), size,
                            entries, where);
  } catch (const std::exception& e) {
    error = e.what();
  }
  dist::raise_on_every_rank(comm, error);
  const bool full = full_tensors(entries);
  if (rank == 0) {
    for (int r = size - 1; r >= 1; --r) {
      std::string part;
      try {
        part = io::encode_archive(parts.back(), where);
      } catch (const std::exception& e) {
        if (error.empty()) error = e.what();
      }
      parts.pop_back();
      dist::send_bytes(comm, part, r);
    }
  } else {
    bytes = dist::recv_bytes(comm, 0);
  }

  // Check everything this rank needs before anything changes.
  std::vector<std::pair<Tensor, Tensor>> copies;  // (the model's tensor, the snapshot's)
  NamedTensors optimizer_state;
  TrainingProgress progress;
  std::vector<int64_t> iterator, rng;
  try {
    // Rank 0's part is already decoded.
    const io::Archive archive = rank == 0 ? std::move(parts[0]) : io::decode_archive(bytes, where);
    const std::vector<int64_t>* ranks = io::find_entry(archive.integers, std::string("ranks"));
    PRISM_CHECK(ranks && ranks->size() == 1, where << ": no rank count (not a snapshot?)");
    // Full tensors (the filter partition) resume at any rank count; each rank's slices only at
    // their own.
    PRISM_CHECK(full || (*ranks)[0] == size, where << ": written by " << (*ranks)[0]
                                                   << " ranks, this job has " << size
                                                   << " (the model's slices differ)");
    for (const Entry& e : entries) {
      const std::string key = e.partitioned && !full ? io::rank_key(rank, e.key) : e.key;
      const Tensor* t = io::find_entry(archive.tensors, key);
      PRISM_CHECK(t, where << ": " << key << " is missing"
                           << (io::find_entry(archive.tensors, e.key)
                                   ? " (the snapshot holds the full model, "
                                     "a filter partition's; this model's "
                                     "slices are each rank's own)"
                               : io::find_entry(archive.tensors, io::rank_key(rank, e.key))
                                   ? " (the snapshot holds each rank's own slices, a seed "
                                     "partition's; this model is cut from full tensors)"
                                   : ""));
      PRISM_CHECK(t->shape() == e.value.shape(), where << ": " << key << ": the snapshot has "
                                                       << to_string(t->shape()) << ", the run has "
                                                       << to_string(e.value.shape()));
      if (e.key.starts_with("model/"))
        copies.emplace_back(e.value, *t);
      else
        optimizer_state.emplace_back(e.key.substr(std::string("optimizer/").size()), *t);
    }
    for (const char* name : {"iterator", "rng", "log", "elapsed"})
      PRISM_CHECK(io::find_entry(archive.integers, std::string(name)),
                  where << ": " << name << " is missing");
    iterator = *io::find_entry(archive.integers, std::string("iterator"));
    rng = *io::find_entry(archive.integers, std::string("rng"));
    PRISM_CHECK(rng.size() == 4, where << ": rng holds " << rng.size() << " words, not 4");
    progress.log = decode_log(*io::find_entry(archive.integers, std::string("log")), where);
    const std::vector<int64_t>& elapsed = *io::find_entry(archive.integers, std::string("elapsed"));
    PRISM_CHECK(elapsed.size() == 1, where << ": elapsed holds " << elapsed.size() << " words");
    progress.elapsed_seconds = std::bit_cast<double>(elapsed[0]);
    if (const std::vector<int64_t>* running =
            io::find_entry(archive.integers, std::string("running")))
      progress.running = decode_running(*running, where);
  } catch (const std::exception& e) {
    if (error.empty()) error = e.what();  // else rank 0's encoding failed: that comes first
  }
  dist::raise_on_every_rank(comm, error);

  // The optimizer and the iterator check their states before they change; if either refuses
  // (on any rank), the optimizer goes back to what it was. Nothing can fail after them.
  const NamedTensors optimizer_before = optimizer.state();
  bool loaded = false;
  try {
    optimizer.load_state(optimizer_state);
    loaded = true;
  } catch (const std::exception& e) {
    error = where + ": " + e.what();
  }
  try {
    dist::raise_on_every_rank(comm, error);
    try {
      train.set_state(iterator);  // collective under MPI: refused everywhere or nowhere
    } catch (const std::exception& e) {
      throw Error(where + ": " + e.what());
    }
  } catch (...) {
    if (loaded) optimizer.load_state(optimizer_before);
    throw;
  }
  for (auto& [to, from] : copies)
    to.copy_from(from);
  Rng::State words;
  for (size_t i = 0; i < words.size(); ++i)
    words[i] = static_cast<uint64_t>(rng[i]);
  global_rng().set_state(words);
  return progress;
}

}  // namespace prism::train
