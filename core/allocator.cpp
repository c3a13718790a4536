#include "core/allocator.hpp"

#include <bit>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <string>
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
  static constexpr size_t kMaxFit = 4;
  // A block of at least `size` bytes; `size` becomes the class of the block handed out.
  void* take(size_t& size) {
    {
      std::lock_guard lock(mutex_);
      ++stats_.allocations;
      stats_.allocated_bytes += static_cast<int64_t>(size);
      // The smallest cached class that holds `size`, up to kMaxFit times it: a step frees
      // blocks of sizes that it asks for again only later, and reusing them for other sizes
      // keeps the memory the process holds near what it uses at once.
      for (auto it = free_.lower_bound(size); it != free_.end() && it->first <= kMaxFit * size;
           ++it) {
        if (it->second.empty()) continue;
        void* p = it->second.back();
        it->second.pop_back();
        size = it->first;
        stats_.cached_bytes -= static_cast<int64_t>(size);
        note_in_use(size);
        return p;
      }
    }
    reserve(size);  // counted in use from here, so two threads cannot both pass the limit
    void* p = std::aligned_alloc(kAlignment, size);
    if (p == nullptr) {
      release();
      p = std::aligned_alloc(kAlignment, size);
    }
    std::lock_guard lock(mutex_);
    if (p == nullptr) {
      stats_.in_use_bytes -= static_cast<int64_t>(size);
      throw Error("allocator: out of memory allocating " + std::to_string(size) + " bytes");
    }
    ++stats_.system_allocations;
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
  void set_limit(int64_t bytes) {
    std::lock_guard lock(mutex_);
    limit_ = bytes;
  }
  int64_t limit() {
    std::lock_guard lock(mutex_);
    return limit_;
  }

 private:
  // Counts `size` more bytes from the system in use: within the limit, or after giving the
  // cache back, or an error.
  void reserve(size_t size) {
    const int64_t need = static_cast<int64_t>(size);
    for (bool released = false;; released = true) {
      {
        std::lock_guard lock(mutex_);
        const int64_t held = stats_.in_use_bytes + stats_.cached_bytes;
        if (limit_ == 0 || held + need <= limit_) {
          note_in_use(size);
          return;
        }
        if (released) {
          auto mib = [](int64_t bytes) {
            return std::to_string(bytes >> 20) + "." +
                   std::to_string((bytes & ((1 << 20) - 1)) * 10 >> 20) + " MiB";
          };
          throw Error("allocator: " + mib(need) + " more would make " + mib(held + need) +
                      " in use, above the memory limit of " + mib(limit_) +
                      " (memory::set_limit, PRISM_MEMORY_LIMIT)");
        }
      }
      release();
    }
  }

  void note_in_use(size_t size) {
    stats_.in_use_bytes += static_cast<int64_t>(size);
    stats_.peak_in_use_bytes = std::max(stats_.peak_in_use_bytes, stats_.in_use_bytes);
  }

  std::mutex mutex_;
  std::map<size_t, std::vector<void*>> free_;  // by size class, ascending
  Stats stats_;
  int64_t limit_ = 0;
};

thread_local int64_t t_allocated_bytes = 0;

// Never destroyed: tensors in static objects may be freed after main returns.
Cache& cache() {
  static Cache* c = [] {
    const char* env = std::getenv("PRISM_MEMORY_LIMIT");
    const int64_t limit = env == nullptr ? 0 : parse_limit(env);  // before anything is made
    auto* made = new Cache;
    made->set_limit(limit);
    return made;
  }();
  return *c;
}

}  // namespace

int64_t parse_limit(const char* text) {
  const std::string s = text;
  size_t digits = 0;
  while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9')
    ++digits;
  const std::string suffix = s.substr(digits);
  const int shift = suffix.empty()  ? 0
                    : suffix == "K" ? 10
                    : suffix == "M" ? 20
                    : suffix == "G" ? 30
                                    : -1;
  PRISM_CHECK(
      digits > 0 && digits <= 15 && shift >= 0,
      "memory limit: expected bytes with an optional K, M or G (\"700M\"), got '" << s << "'");
  const int64_t value = std::stoll(s.substr(0, digits));
  PRISM_CHECK(value <= (INT64_MAX >> shift), "memory limit: '" << s << "' is too large");
  return value << shift;
}

void set_limit(int64_t bytes) {
  PRISM_CHECK(bytes >= 0, "memory::set_limit: needs bytes >= 0 (0: no limit), got " << bytes);
  cache().set_limit(bytes);
}

int64_t limit() {
  return cache().limit();
}

bool caching() {
  static const bool on = read_caching();
  return on;
}

std::shared_ptr<void> allocate(size_t bytes) {
  size_t size = size_class(bytes);
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
