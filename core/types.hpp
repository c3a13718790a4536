// The small value types every layer shares, declared once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace prism {

// A tensor's dimensions, outermost first.
using Shape = std::vector<int64_t>;

// "[2, 3, 4]"
std::string to_string(const Shape& shape);

// A height and a width (a kernel size, a stride, a padding): one number for both, as in
// conv2d(x, w, b, 2, 1), or a pair {h, w}, as in Convolution2D(3, 64, {3, 5}).
struct Size2 {
  int64_t h, w;
  Size2(int64_t both) : h(both), w(both) {}  // NOLINT: implicit, so one number reads as both
  Size2(int64_t h_, int64_t w_) : h(h_), w(w_) {}
  bool operator==(const Size2&) const = default;
};

// "3" when h == w, else "(3, 5)"
std::string to_string(Size2 size);

// Which channels (axis 1) of a full tensor a channel-sharded one holds: offset, offset +
// stride, offset + 2 * stride, ... below `end`, in that order. Two partitions over P ranks use
// it: the seed's deals the channels out in turn (rank r: r, r + P, ...; strided_shard), the
// filter partition gives each rank one block (block_shard). channels == 0 means not sharded:
// every channel.
struct ChannelShard {
  int64_t channels = 0, stride = 1, offset = 0, end = 0;
  bool sharded() const { return channels > 0; }
  bool valid() const {
    return !sharded() || (stride >= 1 && offset >= 0 && offset <= end && end <= channels);
  }
  int64_t count() const { return (end - offset + stride - 1) / stride; }  // when sharded
  int64_t full_channel(int64_t local) const { return offset + local * stride; }
  bool whole() const { return !sharded() || (offset == 0 && stride == 1 && end == channels); }
  bool operator==(const ChannelShard&) const = default;
};

// The seed's shard of rank r of P: channels r, r + P, ... of C. P == 1 is every channel,
// ChannelShard{}.
ChannelShard strided_shard(int64_t channels, int size, int rank);
// The filter partition's: the block [off_r, off_r + C / P (+1 if r < C % P)), the blocks in
// rank order (block_offset). P == 1 is ChannelShard{}.
ChannelShard block_shard(int64_t channels, int size, int rank);
int64_t block_offset(int64_t channels, int size, int rank);
// The shard `rank` holds in the partition that gives this rank `mine` (strided or block).
ChannelShard shard_of_rank(const ChannelShard& mine, int size, int rank);

// "channels 1, 3, 5, ... of 64" ("channels 1 of 2" for one), or "every channel"
std::string to_string(const ChannelShard& shard);

// One class index per example (datasets, batches, the classification loss).
using Labels = std::vector<int32_t>;

}  // namespace prism
