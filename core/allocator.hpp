// Where tensor storage comes from: 64-byte aligned blocks, cached by size class and reused.
// A training step allocates the same sizes every time, so after the first step every block
// comes from the cache: no page faults, no zeroing by the kernel, no glibc fragmentation.
// PRISM_ALLOCATOR=system turns the cache off (each block goes straight back to the system),
// which is what sanitizer runs want: a reused block would hide a use after free.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace prism::memory {

inline constexpr size_t kAlignment = 64;

// An uninitialized block of at least `bytes` bytes (0 is allowed), 64-byte aligned: a cached
// block of the request's size class, else the smallest cached one up to 4 times that class
// (counted in use at its own class), else a new one from the system. Freed (to the cache or
// the system) when the last handle goes. Throws prism::Error when the system has
// no memory left, after giving the cache back and trying once more.
std::shared_ptr<void> allocate(size_t bytes);

// `count` uninitialized values of a trivial type T from the same cache.
template <class T>
std::shared_ptr<T> allocate_array(int64_t count) {
  return std::static_pointer_cast<T>(allocate(static_cast<size_t>(count) * sizeof(T)));
}

// The size the cache rounds `bytes` up to: multiples of 64 bytes up to 4 KiB, then four
// classes per power of two (at most 25% over).
size_t size_class(size_t bytes);

struct Stats {
  int64_t in_use_bytes = 0;        // blocks handed out and not yet freed (size classes)
  int64_t cached_bytes = 0;        // free blocks the cache holds
  int64_t peak_in_use_bytes = 0;   // since the start, or the last reset_peak()
  int64_t system_allocations = 0;  // blocks taken from the system
  int64_t allocations = 0;         // every allocate() call
  int64_t allocated_bytes = 0;     // the sum of their size classes
};
Stats stats();
// The bytes (size classes) allocated by the calling thread so far: what the profiler charges
// to the op running on it.
int64_t thread_allocated_bytes();
void reset_peak();

// Returns every cached block to the system (blocks in use stay valid).
void release_cached();

// A cap on the bytes the allocator holds from the system (blocks in use plus its cache), so that
// a run can be tried within a memory budget. An allocation that would pass it gives the cache
// back first and, if still over, throws prism::Error naming the sizes. 0 means no limit, the
// default; the environment's PRISM_MEMORY_LIMIT sets it at the first allocation, in bytes or
// with a K, M or G suffix (powers of 1024): PRISM_MEMORY_LIMIT=700M.
void set_limit(int64_t bytes);  // bytes >= 0
int64_t limit();
// "700M" -> 734003200; an Error for anything but digits and an optional K, M or G.
int64_t parse_limit(const char* text);

// False under PRISM_ALLOCATOR=system (read once, at the first allocation).
bool caching();

}  // namespace prism::memory
