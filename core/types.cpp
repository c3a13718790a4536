#include "core/types.hpp"

#include <algorithm>

namespace prism {

std::string to_string(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

std::string to_string(Size2 size) {
  std::string s = std::to_string(size.h);
  if (size.h == size.w) return s;
  s.insert(0, 1, '(');  // not "(" + ...: GCC 12 warns wrongly about that concatenation
  s += ", ";
  s += std::to_string(size.w);
  s += ')';
  return s;
}

ChannelShard strided_shard(int64_t channels, int size, int rank) {
  if (size == 1) return {};
  return {channels, size, rank, channels};
}

int64_t block_offset(int64_t channels, int size, int rank) {
  return channels / size * rank + std::min<int64_t>(rank, channels % size);
}

ChannelShard block_shard(int64_t channels, int size, int rank) {
  if (size == 1) return {};
  return {channels, 1, block_offset(channels, size, rank), block_offset(channels, size, rank + 1)};
}

ChannelShard shard_of_rank(const ChannelShard& mine, int size, int rank) {
  if (!mine.sharded()) return mine;
  return mine.stride == 1 ? block_shard(mine.channels, size, rank)
                          : strided_shard(mine.channels, size, rank);
}

std::string to_string(const ChannelShard& s) {
  if (!s.sharded()) return "every channel";
  std::string out = "channels ";
  if (s.stride == 1)
    return out + "[" + std::to_string(s.offset) + ", " + std::to_string(s.end) + ") of " +
           std::to_string(s.channels);
  const int64_t n = s.count();
  for (int64_t i = 0; i < std::min<int64_t>(n, 3); ++i) {
    if (i) out += ", ";
    out += std::to_string(s.full_channel(i));
  }
  if (n > 3) out += ", ...";
  out += " of ";
  out += std::to_string(s.channels);
  return out;
}

}  // namespace prism
