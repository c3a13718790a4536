#include <doctest/doctest.h>

#include <sys/stat.h>

#include <fstream>
#include <thread>

#include "core/error.hpp"
#include "core/file.hpp"
#include "temp_dir.hpp"

using namespace prism;
using prism::testing::TempDir;

TEST_CASE("file: write_file_atomic and read_file round trip; errors name the file") {
  TempDir dir;
  const std::string bytes("PRSM\0\x01\xff tail", 12);
  write_file_atomic(dir.file("a"), bytes, "test");
  CHECK(read_file(dir.file("a"), "test") == bytes);
  CHECK(read_file(dir.file("a"), "test").size() == 12);
  write_file_atomic(dir.file("empty"), "", "test");
  CHECK(read_file(dir.file("empty"), "test").empty());

  const std::string missing = "who: cannot open " + dir.file("missing") + ": no such file";
  CHECK_THROWS_WITH_AS(read_file(dir.file("missing"), "who"), doctest::Contains(missing.c_str()),
                       Error);
  CHECK_THROWS_WITH_AS(read_file(dir.path.string(), "who"),
                       doctest::Contains("not a regular file (a folder)"), Error);
  CHECK_THROWS_WITH_AS(write_file_atomic(dir.file("no/such/folder"), "x", "who"),
                       doctest::Contains("who: cannot open"), Error);
}

TEST_CASE("file: read_file reads files whose size is known only by reading them") {
  // /proc files report size 0; a pipe has no size at all.
  CHECK(read_file("/proc/self/status", "test").find("Name:") != std::string::npos);
  TempDir dir;
  const std::string fifo = dir.file("fifo");
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  std::thread writer([&] { std::ofstream(fifo) << "through a pipe"; });
  CHECK(read_file(fifo, "test") == "through a pipe");
  writer.join();
}
