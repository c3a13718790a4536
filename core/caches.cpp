#include "core/caches.hpp"

#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>

#include "core/error.hpp"

namespace prism {

namespace {

std::string first_word(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string word;
  in >> word;
  return word;
}

CacheSizes machine_caches() {
  const std::string root = "/sys/devices/system/cpu/cpu0/cache";
  std::error_code ec;
  if (!std::filesystem::is_directory(root, ec)) return {};
  try {
    return read_sysfs_caches(root);
  } catch (const Error&) {
    return {};  // an odd kernel's tree: plan for typical caches rather than fail every op
  }
}

std::mutex g_mutex;
std::optional<CacheSizes> g_override;

}  // namespace

int64_t parse_cache_size(const std::string& text) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9')
    ++digits;
  const std::string unit = text.substr(digits);
  const int shift = unit.empty() ? 0 : unit == "K" ? 10 : unit == "M" ? 20 : unit == "G" ? 30 : -1;
  PRISM_CHECK(digits > 0 && digits <= 9 && shift >= 0,
              "cache size: expected a number with an optional K, M or G, got '" << text << "'");
  return std::stoll(text.substr(0, digits)) << shift;
}

CacheSizes read_sysfs_caches(const std::string& root) {
  CacheSizes out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(root, ec)) {
    const std::filesystem::path dir = entry.path();
    if (!dir.filename().string().starts_with("index")) continue;
    const std::string type = first_word(dir / "type"), level = first_word(dir / "level");
    if (type != "Data" && type != "Unified") continue;  // instruction caches do not matter here
    const std::string size = first_word(dir / "size");
    int64_t bytes = 0;
    try {
      bytes = parse_cache_size(size);
    } catch (const Error& e) {
      PRISM_FAIL((dir / "size").string() << ": " << e.what());
    }
    if (level == "1") out.l1d = bytes;
    if (level == "2") out.l2 = bytes;
    if (level == "3") out.l3 = bytes;
  }
  return out;
}

CacheSizes cache_sizes() {
  static const CacheSizes machine = machine_caches();
  std::lock_guard lock(g_mutex);
  return g_override.value_or(machine);
}

void set_cache_sizes(const CacheSizes& sizes) {
  PRISM_CHECK(sizes.l1d >= 1024 && sizes.l2 >= 1024 && sizes.l3 >= 1024,
              "set_cache_sizes: every size must be at least 1 KiB, got L1d "
                  << sizes.l1d << ", L2 " << sizes.l2 << ", L3 " << sizes.l3 << " bytes");
  std::lock_guard lock(g_mutex);
  g_override = sizes;
}

void reset_cache_sizes() {
  std::lock_guard lock(g_mutex);
  g_override.reset();
}

}  // namespace prism
