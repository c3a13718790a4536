#include "io/archive.hpp"

#include <zlib.h>

#include <bit>
#include <cstring>
#include <set>

#include "core/error.hpp"
#include "core/file.hpp"

namespace prism::io {

static_assert(std::endian::native == std::endian::little, "parameter files are little-endian");

namespace {

constexpr char kMagic[4] = {'P', 'R', 'S', 'M'};
constexpr uint32_t kVersion = 2;  // version 1 (f32 tensors only, no type byte) is still read
enum EntryType : uint8_t { kF32Tensor = 0, kI64Array = 1 };

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

// Reads bytes through bounds-checked accessors; every error starts with `where` and names the
// offset.
class Reader {
 public:
  Reader(std::string where, const std::string& bytes, size_t size)
      : where_(std::move(where)), bytes_(bytes), size_(size) {}

  template <class T>
  T get(const char* what) {
    need(sizeof(T), what);
    T value;
    std::memcpy(&value, bytes_.data() + pos_, sizeof value);
    pos_ += sizeof value;
    return value;
  }
  const char* take(size_t n, const char* what) {
    need(n, what);
    pos_ += n;
    return bytes_.data() + pos_ - n;
  }
  void need(size_t n, const char* what) const {
    PRISM_CHECK(n <= size_ - pos_, where_ << ": truncated: " << what << " at byte " << pos_
                                          << " needs " << n << " bytes, " << size_ - pos_
                                          << " left");
  }
  size_t left() const { return size_ - pos_; }
  const std::string& where() const { return where_; }

 private:
  std::string where_;
  const std::string& bytes_;
  size_t size_;  // the bytes before the CRC
  size_t pos_ = 0;
};

void put_name(std::string& out, const std::string& name, std::set<std::string>& seen,
              const std::string& where) {
  PRISM_CHECK(!name.empty() && seen.insert(name).second,
              where << ": entry names must be non-empty and unique, got '" << name << "'");
  put<uint32_t>(out, static_cast<uint32_t>(name.size()));
  out += name;
}

Tensor read_tensor(Reader& in, const std::string& name) {
  const auto ndim = in.get<uint32_t>("ndim");
  PRISM_CHECK(ndim <= 16, in.where()
                              << ": entry '" << name << "' claims " << ndim << " dimensions");
  Shape shape(ndim);
  uint64_t numel = 1;
  for (auto& d : shape) {
    d = in.get<int64_t>("dimension");
    // Bounded by the bytes left, so a corrupt header never allocates much.
    PRISM_CHECK(d >= 0 && (d == 0 || numel <= in.left() / 4 / static_cast<uint64_t>(d)),
                in.where() << ": entry '" << name << "' has a bad dimension " << d);
    numel *= static_cast<uint64_t>(d);
  }
  const char* data = in.take(numel * 4, "tensor data");
  Tensor t(shape);
  std::memcpy(t.data(), data, numel * 4);
  return t;
}

std::vector<int64_t> read_integers(Reader& in, const std::string& name) {
  const auto length = in.get<uint64_t>("array length");
  PRISM_CHECK(length <= in.left() / 8,
              in.where() << ": entry '" << name << "' has a bad length " << length);
  std::vector<int64_t> values(length);
  const char* data = in.take(length * 8, "array data");
  if (length > 0) std::memcpy(values.data(), data, length * 8);  // data() may be null when empty
  return values;
}

}  // namespace

std::string encode_archive(const Archive& archive, const std::string& where) {
  std::set<std::string> seen;
  std::string out(kMagic, sizeof kMagic);
  put<uint32_t>(out, kVersion);
  put<uint32_t>(out, static_cast<uint32_t>(archive.tensors.size() + archive.integers.size()));
  for (const auto& [name, t] : archive.tensors) {
    put_name(out, name, seen, where);
    PRISM_CHECK(t.defined(), where << ": entry '" << name << "' is undefined");
    put<uint8_t>(out, kF32Tensor);
    put<uint32_t>(out, static_cast<uint32_t>(t.dim()));
    for (int64_t d : t.shape())
      put<int64_t>(out, d);
    out.append(reinterpret_cast<const char*>(t.data()), static_cast<size_t>(t.numel()) * 4);
  }
  for (const auto& [name, values] : archive.integers) {
    put_name(out, name, seen, where);
    put<uint8_t>(out, kI64Array);
    put<uint64_t>(out, values.size());
    out.append(reinterpret_cast<const char*>(values.data()), values.size() * 8);
  }
  put<uint32_t>(out, crc_of(out.data(), out.size()));
  return out;
}

Archive decode_archive(const std::string& bytes, const std::string& where) {
  PRISM_CHECK(bytes.size() >= sizeof kMagic && std::memcmp(bytes.data(), kMagic, 4) == 0,
              where << " is not a prism parameter file (no PRSM magic)");
  PRISM_CHECK(bytes.size() >= 16,
              where << ": truncated: " << bytes.size() << " bytes is shorter than any valid file");
  // The checksum first: a flipped bit anywhere is reported as corruption, not as a confusing
  // structural error.
  const size_t body = bytes.size() - 4;
  uint32_t stored;
  std::memcpy(&stored, bytes.data() + body, 4);
  const bool crc_ok = crc_of(bytes.data(), body) == stored;

  Reader in(where, bytes, body);
  in.take(4, "magic");
  const auto version = in.get<uint32_t>("version");
  PRISM_CHECK(version == 1 || version == kVersion,
              where << ": version " << version << " is not supported (this prism reads 1 and "
                    << kVersion << ")");
  PRISM_CHECK(crc_ok, where << ": checksum mismatch: the file is corrupt or truncated");
  const auto count = in.get<uint32_t>("entry count");
  // Every entry takes at least 8 bytes (name length and ndim or type), which bounds the count.
  PRISM_CHECK(count <= in.left() / 8,
              where << ": entry count " << count << " cannot fit in " << in.left() << " bytes");
  Archive archive;
  std::set<std::string> seen;
  for (uint32_t e = 0; e < count; ++e) {
    const auto name_len = in.get<uint32_t>("name length");
    std::string name(in.take(name_len, "name"), name_len);
    PRISM_CHECK(!name.empty() && seen.insert(name).second,
                where << ": entry " << e << " has an empty or repeated name '" << name << "'");
    const uint8_t type = version == 1 ? uint8_t{kF32Tensor} : in.get<uint8_t>("entry type");
    if (type == kF32Tensor)
      archive.tensors.emplace_back(name, read_tensor(in, name));
    else if (type == kI64Array)
      archive.integers.emplace_back(name, read_integers(in, name));
    else
      PRISM_FAIL(where << ": entry '" << name << "' has an unknown type " << int(type));
  }
  PRISM_CHECK(in.left() == 0,
              where << ": " << in.left() << " unexpected bytes after the last entry");
  return archive;
}

void save_archive(const Archive& archive, const std::string& path) {
  write_file_atomic(path, encode_archive(archive, "save_archive: " + path), "save_archive");
}

Archive load_archive(const std::string& path) {
  return decode_archive(read_file(path, "load_archive"), "load_archive: " + path);
}

void save_tensors(const NamedTensors& entries, const std::string& path) {
  write_file_atomic(path, encode_archive({entries, {}}, "save_tensors: " + path), "save_tensors");
}

NamedTensors load_tensors(const std::string& path) {
  Archive archive = decode_archive(read_file(path, "load_tensors"), "load_tensors: " + path);
  PRISM_CHECK(archive.integers.empty(), "load_tensors: " << path
                                                         << " holds integer arrays (a snapshot?): "
                                                         << "read it with load_archive");
  return std::move(archive.tensors);
}

}  // namespace prism::io
