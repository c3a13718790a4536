#include "core/allocator.hpp"

#include <bit>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/error.hpp"

namespace prism::memory {

size_t size_class(size_t bytes) {
  constexpr size_t kSmall = 4096;
  if (bytes <= kSmall)
    return std::max<size_t>((bytes + kAlignment - 1) / kAlignment, 1) * kAlignment;
  PRISM_CHECK(bytes <= (SIZE_MAX >> 2),
              "allocator: " << bytes << " bytes is more than any machine has");
  // The top two bits below the leading one pick one of four classes: 1, 1.25, 1.5, 1.75 x 2^k.
  const size_t quarter = std::bit_floor(bytes) >> 2;
  return (bytes + quarter - 1) / quarter * quarter;
}

namespace {

bool read_caching() {
  const char* env = std::getenv("PRISM_ALLOCATOR");
  if (env == nullptr || std::strcmp(env, "cache") == 0) return true;
  if (std::strcmp(env, "system") == 0) return false;
  throw Error(std::string("PRISM_ALLOCATOR must be 'cache' or 'system', got '") + env + "'");
}

// One process-wide cache behind a mutex: blocks are allocated and freed from the calling
// thread (ops allocate outside their parallel loops), so the lock is uncontended.
class Cache {
 public:
  void* take(size_t size) {
    {
      std::lock_guard lock(mutex_);
      ++stats_.allocations;
      stats_.allocated_bytes += static_cast<int64_t>(size);
      auto it = free_.find(size);
      if (it != free_.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        stats_.cached_bytes -= static_cast<int64_t>(size);
        note_in_use(size);
        return p;
      }
    }
    void* p = std::aligned_alloc(kAlignment, size);
    if (p == nullptr) {
      release();
      p = std::aligned_alloc(kAlignment, size);
    }
    if (p == nullptr)
      throw Error("allocator: out of memory allocating " + std::to_string(size) + " bytes");
    std::lock_guard lock(mutex_);
    ++stats_.system_allocations;
    note_in_use(size);
    return p;
  }

  // Runs in a deleter, so it must not throw: a block the free list has no room for goes back
  // to the system.
  void give(void* p, size_t size, bool keep) noexcept {
    std::lock_guard lock(mutex_);
    stats_.in_use_bytes -= static_cast<int64_t>(size);
    if (keep) {
      try {
        free_[size].push_back(p);
        stats_.cached_bytes += static_cast<int64_t>(size);
        return;
      } catch (const std::bad_alloc&) {
      }
    }
    std::free(p);
  }

  void release() {
    std::lock_guard lock(mutex_);
    for (auto& [size, blocks] : free_)
      for (void* p : blocks)
        std::free(p);
    free_.clear();
    stats_.cached_bytes = 0;
  }

  Stats stats() {
    std::lock_guard lock(mutex_);
    return stats_;
  }
  void reset_peak() {
    std::lock_guard lock(mutex_);
    stats_.peak_in_use_bytes = stats_.in_use_bytes;
  }

 private:
  void note_in_use(size_t size) {
    stats_.in_use_bytes += static_cast<int64_t>(size);
    stats_.peak_in_use_bytes = std::max(stats_.peak_in_use_bytes, stats_.in_use_bytes);
  }

  std::mutex mutex_;
  std::unordered_map<size_t, std::vector<void*>> free_;
  Stats stats_;
};

thread_local int64_t t_allocated_bytes = 0;

// Never destroyed: tensors in static objects may be freed after main returns.
Cache& cache() {
  static Cache* c = new Cache;
  return *c;
}

}  // namespace

bool caching() {
  static const bool on = read_caching();
  return on;
}

std::shared_ptr<void> allocate(size_t bytes) {
  const size_t size = size_class(bytes);
  const bool keep = caching();
  t_allocated_bytes += static_cast<int64_t>(size);
  void* p = cache().take(size);
  return std::shared_ptr<void>(p, [size, keep](void* q) { cache().give(q, size, keep); });
}

Stats stats() {
  return cache().stats();
}
int64_t thread_allocated_bytes() {
  return t_allocated_bytes;
}
void reset_peak() {
  cache().reset_peak();
}
void release_cached() {
  cache().release();
}

}  // namespace prism::memory
