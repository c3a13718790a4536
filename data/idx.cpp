#include "data/idx.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <iomanip>
#include <string_view>
#include <system_error>

#include "core/file.hpp"

namespace prism::data {

namespace fs = std::filesystem;

namespace {

bool is_gzip(std::string_view b) {
  return b.size() >= 2 && uint8_t(b[0]) == 0x1f && uint8_t(b[1]) == 0x8b;
}

}  // namespace

namespace {

// gunzip, or with `head` its first max_bytes bytes: then reaching the bound ends the work.
std::string inflate_gzip(std::string_view gz, const std::string& where, size_t max_bytes,
                         bool head) {
  z_stream zs{};
  PRISM_CHECK(inflateInit2(&zs, 16 + MAX_WBITS) == Z_OK, where << ": zlib inflateInit2 failed");
  struct End {
    z_stream* zs;
    ~End() { inflateEnd(zs); }
  } end{&zs};

  // zlib counts in 32-bit uInt: feed it at most 1 GiB at a time.
  constexpr size_t kChunk = size_t{1} << 30;
  std::string out(std::min(max_bytes, std::max<size_t>(2 * gz.size(), 1 << 16)), '\0');
  size_t in_pos = 0, out_pos = 0;
  for (;;) {
    if (out_pos == out.size()) {
      if (head && out_pos == max_bytes) break;
      PRISM_CHECK(out.size() < max_bytes, where << ": decompresses to more than " << max_bytes
                                                << " bytes, the limit (a gzip bomb?)");
      out.resize(std::min(max_bytes, 2 * out.size()));
    }
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data() + in_pos));
    zs.avail_in = static_cast<uInt>(std::min(gz.size() - in_pos, kChunk));
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + out_pos);
    zs.avail_out = static_cast<uInt>(std::min(out.size() - out_pos, kChunk));
    const uInt avail_in = zs.avail_in, avail_out = zs.avail_out;
    const int ret = inflate(&zs, Z_NO_FLUSH);
    in_pos += avail_in - zs.avail_in;
    out_pos += avail_out - zs.avail_out;
    if (ret == Z_STREAM_END) {
      if (in_pos == gz.size()) break;
      // Another member may follow; anything else is garbage.
      PRISM_CHECK(is_gzip(gz.substr(in_pos)),
                  where << ": " << gz.size() - in_pos
                        << " trailing bytes after the gzip stream at byte offset " << in_pos);
      inflateReset(&zs);
      continue;
    }
    // Z_BUF_ERROR only means no progress was possible this call; the checks below decide.
    PRISM_CHECK(ret == Z_OK || ret == Z_BUF_ERROR,
                where << ": corrupt gzip data near compressed byte offset " << in_pos << " ("
                      << (zs.msg ? zs.msg : zError(ret)) << ")");
    PRISM_CHECK(!(in_pos == gz.size() && zs.avail_out > 0),
                where << ": truncated gzip data: the stream is incomplete at the end of the file ("
                      << gz.size() << " bytes)");
  }
  out.resize(out_pos);
  return out;
}

}  // namespace

std::string gunzip(std::string_view gz, const std::string& where, size_t max_bytes) {
  return inflate_gzip(gz, where, max_bytes, false);
}

std::string gunzip_head(std::string_view gz, const std::string& where, size_t n) {
  return inflate_gzip(gz, where, n, true);
}

namespace {

uint32_t read_be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}

std::string hex(uint32_t v, int digits) {
  std::ostringstream os;
  os << "0x" << std::hex << std::setw(digits) << std::setfill('0') << v;
  return os.str();
}

std::string dims_string(const std::vector<int64_t>& dims) {
  std::string s;
  for (size_t i = 0; i < dims.size(); ++i)
    s += (i ? " x " : "") + std::to_string(dims[i]);
  return s;
}

struct Idx {
  std::vector<int64_t> dims;
  const uint8_t* data;  // product(dims) unsigned bytes
};

// The magic, then one 32-bit size per dimension.
size_t idx_header_bytes(uint8_t ndims) {
  return 4 + 4 * size_t{ndims};
}

// The dimensions in the header of an unsigned-byte IDX file with `ndims` dimensions, checked:
// the magic, and that the header is whole.
std::vector<int64_t> parse_idx_header(const std::string& where, std::string_view bytes,
                                      uint8_t ndims) {
  const std::basic_string_view<uint8_t> b(reinterpret_cast<const uint8_t*>(bytes.data()),
                                          bytes.size());
  constexpr uint8_t kUnsignedByte = 0x08;
  const uint32_t expected = uint32_t{kUnsignedByte} << 8 | ndims;
  PRISM_CHECK(b.size() >= 4, where << ": too short for an IDX header: " << b.size() << " bytes");
  const uint32_t magic = read_be32(b.data());
  if (magic != expected) {
    std::string why;
    if (b[0] != 0 || b[1] != 0)
      why = "not an IDX file";
    else if (b[2] != kUnsignedByte)
      why = "element type " + hex(b[2], 2) + " is not unsigned byte (0x08)";
    else
      why = std::to_string(b[3]) + " dimensions, expected " + std::to_string(ndims);
    PRISM_FAIL(where << ": bad IDX magic " << hex(magic, 8) << " at byte offset 0, expected "
                     << hex(expected, 8) << " (" << why << ")");
  }
  const size_t header = idx_header_bytes(ndims);
  PRISM_CHECK(b.size() >= header, where << ": truncated IDX header: " << b.size()
                                        << " bytes, the header needs " << header);
  std::vector<int64_t> dims;
  for (uint8_t i = 0; i < ndims; ++i)
    dims.push_back(read_be32(b.data() + 4 + 4 * i));
  return dims;
}

// The header, and that the data that follows holds exactly product(dims) bytes. Every size is
// bounded by the real data size before anything is allocated from it.
Idx parse_idx(const std::string& where, const std::string& bytes, uint8_t ndims) {
  const std::basic_string_view<uint8_t> b(reinterpret_cast<const uint8_t*>(bytes.data()),
                                          bytes.size());
  const size_t header = idx_header_bytes(ndims);
  Idx idx;
  idx.dims = parse_idx_header(where, bytes, ndims);
  // count = product(dims), or available + 1 as soon as it exceeds available (no overflow).
  const uint64_t available = b.size() - header;
  const bool empty = std::find(idx.dims.begin(), idx.dims.end(), 0) != idx.dims.end();
  uint64_t count = empty ? 0 : 1;
  for (int64_t d : idx.dims) {
    if (empty) break;
    if (count > available / static_cast<uint64_t>(d)) {
      count = available + 1;
      break;
    }
    count *= static_cast<uint64_t>(d);
  }
  PRISM_CHECK(count <= available,
              where << ": truncated or corrupt: the header claims " << dims_string(idx.dims)
                    << " bytes of data but only " << available << " bytes follow the " << header
                    << "-byte header (the data ends at byte offset " << b.size() << ")");
  PRISM_CHECK(count == available, where << ": " << available - count
                                        << " trailing bytes after the data, from byte offset "
                                        << header + count << " (the header claims "
                                        << dims_string(idx.dims) << ")");
  idx.data = b.data() + header;
  return idx;
}

// Reads and checks one IDX file; idx.data points into `bytes`. A gzip file's header is checked
// before the rest is inflated, so a file of zeros is refused at its first bytes; the rest is
// inflated only up to the size the header claims plus kTrailingSlack (trailing bytes up to that
// many parse_idx reports by their count), and never beyond kMaxGunzipBytes.
constexpr uint64_t kTrailingSlack = uint64_t{1} << 20;
Idx load_idx(const char* fn, const fs::path& path, uint8_t ndims, std::string& bytes) {
  const std::string where = std::string(fn) + ": " + path.string();
  bytes = read_file(path.string(), fn);
  if (!is_gzip(bytes)) return parse_idx(where, bytes, ndims);
  const std::string unzipped = where + " (decompressed)";
  const size_t header = idx_header_bytes(ndims);
  uint64_t data = 1;  // dims are below 2^32 and data stays at most the bound: no overflow
  for (int64_t d : parse_idx_header(unzipped, gunzip_head(bytes, where, header), ndims))
    data = std::min<uint64_t>(data * uint64_t(d), kMaxGunzipBytes);
  bytes = gunzip(bytes, where, std::min<uint64_t>(header + data + kTrailingSlack, kMaxGunzipBytes));
  return parse_idx(unzipped, bytes, ndims);
}

}  // namespace

Tensor read_idx_images(const fs::path& path) {
  std::string bytes;
  const Idx idx = load_idx("read_idx_images", path, 3, bytes);
  // Images without pixels: the header is corrupt, whatever count it claims.
  PRISM_CHECK(idx.dims[0] == 0 || (idx.dims[1] > 0 && idx.dims[2] > 0),
              "read_idx_images: " << path.string() << ": " << idx.dims[0] << " images of "
                                  << idx.dims[1] << " x " << idx.dims[2] << " pixels");
  Tensor images({idx.dims[0], 1, idx.dims[1], idx.dims[2]});
  // A table keeps the exact byte / 255 at the cost of a lookup.
  std::array<float, 256> scale;
  for (int v = 0; v < 256; ++v)
    scale[v] = static_cast<float>(v) / 255.0f;
  float* out = images.data();
  for (int64_t i = 0; i < images.numel(); ++i)
    out[i] = scale[idx.data[i]];
  return images;
}

Labels read_idx_labels(const fs::path& path) {
  std::string bytes;
  const Idx idx = load_idx("read_idx_labels", path, 1, bytes);
  return Labels(idx.data, idx.data + idx.dims[0]);
}

namespace {

// dir/name, else dir/name.gz.
fs::path find_plain_or_gz(const fs::path& dir, const std::string& name) {
  std::error_code ec;
  for (const char* suffix : {"", ".gz"}) {
    fs::path p = dir / (name + suffix);
    if (fs::exists(p, ec)) return p;
  }
  PRISM_FAIL("load_mnist_like: neither " << (dir / name).string() << " nor "
                                         << (dir / (name + ".gz")).string() << " exists");
}

std::shared_ptr<TensorDataset> load_split(const fs::path& dir, const std::string& prefix,
                                          int32_t num_classes) {
  const fs::path images_path = find_plain_or_gz(dir, prefix + "-images-idx3-ubyte");
  const fs::path labels_path = find_plain_or_gz(dir, prefix + "-labels-idx1-ubyte");
  Tensor images = read_idx_images(images_path);
  Labels labels = read_idx_labels(labels_path);
  PRISM_CHECK(images.size(0) == static_cast<int64_t>(labels.size()),
              "load_mnist_like: " << images_path.string() << " holds " << images.size(0)
                                  << " images but " << labels_path.string() << " holds "
                                  << labels.size() << " labels");
  for (size_t i = 0; i < labels.size(); ++i)
    PRISM_CHECK(labels[i] >= 0 && labels[i] < num_classes,
                "load_mnist_like: " << labels_path.string() << ": label " << labels[i]
                                    << " of example " << i << " is outside [0, " << num_classes - 1
                                    << "]");
  return std::make_shared<TensorDataset>(std::move(images), std::move(labels));
}

}  // namespace

TrainTest load_mnist_like(const fs::path& dir, int32_t num_classes) {
  PRISM_CHECK(num_classes >= 1,
              "load_mnist_like: num_classes must be positive, got " << num_classes);
  TrainTest data{load_split(dir, "train", num_classes), load_split(dir, "t10k", num_classes)};
  // Checked now, not at the first evaluation an epoch later.
  const Shape train = data.train->images().shape(), test = data.test->images().shape();
  PRISM_CHECK(train[2] == test[2] && train[3] == test[3],
              "load_mnist_like: the test images in "
                  << find_plain_or_gz(dir, "t10k-images-idx3-ubyte").string() << " are " << test[3]
                  << " x " << test[2] << " pixels, the training images in "
                  << find_plain_or_gz(dir, "train-images-idx3-ubyte").string() << " " << train[3]
                  << " x " << train[2] << " (width x height)");
  return data;
}

TrainTest load_fashion_mnist(const fs::path& dir) {
  return load_mnist_like(dir, 10);
}

}  // namespace prism::data
