// The cache sizes the kernels plan for (core/caches.hpp), read from synthetic sysfs trees.
#include <doctest/doctest.h>

#include <fstream>

#include "core/caches.hpp"
#include "core/error.hpp"
#include "temp_dir.hpp"

using namespace prism;
using prism::testing::TempDir;

namespace {

void write_index(const TempDir& root, int index, const char* level, const char* type,
                 const char* size) {
  const auto dir = root / ("index" + std::to_string(index));
  std::filesystem::create_directory(dir);
  std::ofstream(dir / "level") << level << "\n";
  std::ofstream(dir / "type") << type << "\n";
  std::ofstream(dir / "size") << size << "\n";
}

}  // namespace

TEST_CASE("caches: sizes parse with K, M and G, and nothing else") {
  CHECK(parse_cache_size("48K") == 48 * 1024);
  CHECK(parse_cache_size("2M") == 2 << 20);
  CHECK(parse_cache_size("1G") == int64_t{1} << 30);
  CHECK(parse_cache_size("4096") == 4096);
  for (const char* bad : {"", "K", "48KB", "-1K", "1.5M", "9999999999K"})
    CHECK_THROWS_WITH_AS(parse_cache_size(bad), doctest::Contains("cache size"), Error);
}

TEST_CASE("caches: a sysfs tree gives L1d, L2 and L3; instruction caches are skipped") {
  TempDir root;
  write_index(root, 0, "1", "Data", "48K");
  write_index(root, 1, "1", "Instruction", "32K");
  write_index(root, 2, "2", "Unified", "2048K");
  write_index(root, 3, "3", "Unified", "266240K");
  const CacheSizes c = read_sysfs_caches(root.path.string());
  CHECK(c.l1d == 48 * 1024);
  CHECK(c.l2 == 2 << 20);
  CHECK(c.l3 == int64_t{266240} << 10);

  TempDir partial;  // a machine without L3: the default stays
  write_index(partial, 0, "1", "Data", "32K");
  write_index(partial, 1, "2", "Unified", "512K");
  const CacheSizes d = read_sysfs_caches(partial.path.string());
  CHECK(d.l2 == 512 * 1024);
  CHECK(d.l3 == CacheSizes{}.l3);

  TempDir broken;
  write_index(broken, 0, "2", "Unified", "lots");
  CHECK_THROWS_WITH_AS(read_sysfs_caches(broken.path.string()), doctest::Contains("index0/size"),
                       Error);
}

TEST_CASE("caches: an override for planning, checked, and undone") {
  const CacheSizes machine = cache_sizes();
  CHECK(machine.l1d >= 1024);
  CHECK(machine.l2 >= machine.l1d);
  set_cache_sizes({16 << 10, 128 << 10, 1 << 20});
  CHECK(cache_sizes().l2 == 128 << 10);
  CHECK_THROWS_AS(set_cache_sizes({0, 1 << 20, 1 << 20}), Error);
  CHECK(cache_sizes().l2 == 128 << 10);  // a refused override changes nothing
  reset_cache_sizes();
  CHECK(cache_sizes().l2 == machine.l2);
}
