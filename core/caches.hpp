// The data cache sizes the kernels block for, read once per process at run time: a plan sizes
// its chunks from them (ops/kernels/conv2d_plan.cpp), so the same build fits each machine's
// caches. Sizes are per core for L1d and L2, and of the whole cache for L3.
#pragma once

#include <cstdint>
#include <string>

namespace prism {

struct CacheSizes {
  int64_t l1d = 32 << 10, l2 = 1 << 20, l3 = 32 << 20;  // when nothing can be read
};

// What the kernels plan for: the caches of cpu0 as sysfs describes them (Linux,
// /sys/devices/system/cpu/cpu0/cache), else CacheSizes{}; or what set_cache_sizes set.
CacheSizes cache_sizes();
// Plans as if the caches were these (tests try synthetic sizes; benchmarks compare plans).
// Each size must be at least 1 KiB. reset_cache_sizes() returns to the machine's.
void set_cache_sizes(const CacheSizes& sizes);
void reset_cache_sizes();

// The caches a sysfs tree describes: root/index*/{level,type,size}, e.g. level 2, type
// Unified, size 2048K. Levels it does not list keep CacheSizes{}'s values; an unreadable size
// is an error that names the file.
CacheSizes read_sysfs_caches(const std::string& root);
// "48K" -> 49152; also "2M", "1G" and plain bytes. An Error for anything else.
int64_t parse_cache_size(const std::string& text);

}  // namespace prism
