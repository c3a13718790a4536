#include "nn/serialize.hpp"

#include <unistd.h>
#include <zlib.h>

#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "core/error.hpp"

namespace prism::nn {

static_assert(std::endian::native == std::endian::little, "parameter files are little-endian");

namespace {

constexpr char kMagic[4] = {'P', 'R', 'S', 'M'};
constexpr uint32_t kVersion = 1;

template <class T>
void put(std::string& out, T value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof value);
}

uint32_t crc_of(const char* data, size_t size) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib takes uInt lengths; feed large buffers in pieces.
  while (size > 0) {
    const auto piece = static_cast<uInt>(std::min<size_t>(size, 1u << 30));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(data), piece);
    data += piece;
    size -= piece;
  }
  return static_cast<uint32_t>(crc);
}

// Reads a file's bytes through bounds-checked accessors; every error names the file and offset.
class Reader {
 public:
  Reader(std::string path, std::string bytes) : path_(std::move(path)), bytes_(std::move(bytes)) {}

  template <class T>
  T get(const char* what) {
    need(sizeof(T), what);
    T value;
    std::memcpy(&value, bytes_.data() + pos_, sizeof value);
    pos_ += sizeof value;
    return value;
  }
  std::string get_bytes(size_t n, const char* what) {
    need(n, what);
    std::string s = bytes_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  void need(size_t n, const char* what) const {
    PRISM_CHECK(n <= bytes_.size() - pos_, "load_tensors: " << path_ << ": truncated: " << what
                                                            << " at byte " << pos_ << " needs " << n
                                                            << " bytes, " << bytes_.size() - pos_
                                                            << " left");
  }
  size_t pos() const { return pos_; }
  size_t left() const { return bytes_.size() - pos_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::string bytes_;
  size_t pos_ = 0;
};

}  // namespace

void save_tensors(const NamedTensors& entries, const std::string& path) {
  std::set<std::string> seen;
  std::string out(kMagic, sizeof kMagic);
  put<uint32_t>(out, kVersion);
  put<uint32_t>(out, static_cast<uint32_t>(entries.size()));
  for (const auto& [name, t] : entries) {
    PRISM_CHECK(!name.empty() && seen.insert(name).second,
                "save_tensors: " << path << ": entry names must be non-empty and unique, got '"
                                 << name << "'");
    PRISM_CHECK(t.defined(), "save_tensors: " << path << ": entry '" << name << "' is undefined");
    put<uint32_t>(out, static_cast<uint32_t>(name.size()));
    out += name;
    put<uint32_t>(out, static_cast<uint32_t>(t.dim()));
    for (int64_t d : t.shape())
      put<int64_t>(out, d);
    out.append(reinterpret_cast<const char*>(t.data()), static_cast<size_t>(t.numel()) * 4);
  }
  put<uint32_t>(out, crc_of(out.data(), out.size()));

  // Write beside the target, then rename: readers see the old file or the new one, never half.
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    PRISM_CHECK(f, "save_tensors: cannot open " << tmp << " for writing: " << std::strerror(errno));
    f.write(out.data(), static_cast<std::streamsize>(out.size()));
    f.close();  // a failed close (e.g. a full disk on flush) sets failbit too
    if (!f) {
      std::remove(tmp.c_str());
      PRISM_FAIL("save_tensors: writing " << tmp << " failed (disk full?)");
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    PRISM_FAIL("save_tensors: cannot rename " << tmp << " to " << path << ": " << ec.message());
  }
}

NamedTensors load_tensors(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  PRISM_CHECK(f, "load_tensors: cannot open " << path << ": " << std::strerror(errno));
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  PRISM_CHECK(!f.bad(), "load_tensors: reading " << path << " failed");
  PRISM_CHECK(bytes.size() >= sizeof kMagic && std::memcmp(bytes.data(), kMagic, 4) == 0,
              "load_tensors: " << path << " is not a prism parameter file (no PRSM magic)");
  PRISM_CHECK(bytes.size() >= 16, "load_tensors: " << path << ": truncated: " << bytes.size()
                                                   << " bytes is shorter than any valid file");

  // The checksum first: a flipped bit anywhere is reported as corruption, not as a confusing
  // structural error.
  const size_t body = bytes.size() - 4;
  uint32_t stored;
  std::memcpy(&stored, bytes.data() + body, 4);
  const bool crc_ok = crc_of(bytes.data(), body) == stored;

  Reader in(path, bytes.substr(0, body));
  in.get_bytes(4, "magic");
  const auto version = in.get<uint32_t>("version");
  PRISM_CHECK(version == kVersion, "load_tensors: " << path << ": version " << version
                                                    << " is not supported (this prism reads "
                                                    << kVersion << ")");
  PRISM_CHECK(crc_ok,
              "load_tensors: " << path << ": checksum mismatch: the file is corrupt or truncated");
  const auto count = in.get<uint32_t>("entry count");
  // Every entry takes at least 8 bytes (name length and ndim), which bounds the count.
  PRISM_CHECK(count <= in.left() / 8, "load_tensors: " << path << ": entry count " << count
                                                       << " cannot fit in " << in.left()
                                                       << " bytes");
  NamedTensors entries;
  std::set<std::string> seen;
  for (uint32_t e = 0; e < count; ++e) {
    const auto name_len = in.get<uint32_t>("name length");
    std::string name = in.get_bytes(name_len, "name");
    PRISM_CHECK(!name.empty() && seen.insert(name).second,
                "load_tensors: " << path << ": entry " << e << " has an empty or repeated name '"
                                 << name << "'");
    const auto ndim = in.get<uint32_t>("ndim");
    PRISM_CHECK(ndim <= 16, "load_tensors: " << path << ": entry '" << name << "' claims " << ndim
                                             << " dimensions");
    Shape shape(ndim);
    uint64_t numel = 1;
    for (auto& d : shape) {
      d = in.get<int64_t>("dimension");
      PRISM_CHECK(d >= 0 && (d == 0 || numel <= in.left() / 4 / static_cast<uint64_t>(d)),
                  "load_tensors: " << path << ": entry '" << name << "' has a bad dimension " << d);
      numel *= static_cast<uint64_t>(d);
    }
    in.need(numel * 4, "tensor data");
    Tensor t(shape);
    std::string data = in.get_bytes(numel * 4, "tensor data");
    std::memcpy(t.data(), data.data(), data.size());
    entries.emplace_back(std::move(name), std::move(t));
  }
  PRISM_CHECK(in.left() == 0, "load_tensors: " << path << ": " << in.left()
                                               << " unexpected bytes after the last entry");
  return entries;
}

namespace {

NamedTensors module_entries(const Module& module) {
  NamedTensors entries;
  for (const auto& [name, p] : module.named_parameters())
    entries.emplace_back(name, p.data());
  for (const auto& [name, b] : module.named_buffers())
    entries.emplace_back(name, b);
  return entries;
}

}  // namespace

void save_parameters(const Module& module, const std::string& path) {
  save_tensors(module_entries(module), path);
}

void load_parameters(Module& module, const std::string& path) {
  const NamedTensors file = load_tensors(path);
  const NamedTensors model = module_entries(module);
  // Check everything first, so a mismatch leaves the module untouched.
  std::vector<const Tensor*> source;
  for (const auto& [name, t] : model) {
    const Tensor* found = nullptr;
    for (const auto& [fname, ft] : file)
      if (fname == name) found = &ft;
    PRISM_CHECK(
        found, "load_parameters: " << path << ": " << name << ": in the model but not in the file");
    PRISM_CHECK(found->shape() == t.shape(),
                "load_parameters: " << path << ": " << name << ": file has "
                                    << to_string(found->shape()) << ", model has "
                                    << to_string(t.shape()));
    source.push_back(found);
  }
  for (const auto& [fname, ft] : file) {
    bool known = false;
    for (const auto& [name, t] : model)
      known = known || name == fname;
    PRISM_CHECK(known, "load_parameters: " << path << ": " << fname
                                           << ": in the file but not in the model");
  }
  for (size_t i = 0; i < model.size(); ++i)
    model[i].second.copy_from(*source[i]);
}

}  // namespace prism::nn
