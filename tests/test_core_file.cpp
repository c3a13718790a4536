#include <doctest/doctest.h>

#include <sys/stat.h>

#include <csignal>
#include <filesystem>
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

TEST_CASE("file: devices and files past the bound are refused by name, nothing read whole") {
  CHECK_THROWS_WITH_AS(read_file("/dev/zero", "who"),
                       doctest::Contains("not a regular file (a device or socket)"), Error);
  TempDir dir;
  write_file_atomic(dir.file("big"), std::string(5000, 'x'), "test");
  CHECK(read_file(dir.file("big"), "test", 5000).size() == 5000);
  CHECK_THROWS_WITH_AS(read_file(dir.file("big"), "who", 4999),
                       doctest::Contains("has 5000 bytes, more than the 4999"), Error);
  // A pipe that goes on is cut at the bound while it is read (the writer may then write into a
  // closed pipe: that must fail its write, not end the test binary).
  struct IgnorePipe {
    void (*saved)(int) = std::signal(SIGPIPE, SIG_IGN);
    ~IgnorePipe() { std::signal(SIGPIPE, saved); }
  } ignore;
  const std::string fifo = dir.file("fifo");
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  std::thread writer([&] {
    std::ofstream out(fifo);
    out << std::string(100000, 'y');
  });
  CHECK_THROWS_WITH_AS(read_file(fifo, "who", 70000), doctest::Contains("goes on past 70000"),
                       Error);
  writer.join();
}

TEST_CASE("file: an atomic write leaves no temporary file, and replaces the old one whole") {
  TempDir dir;
  write_file_atomic(dir.file("f"), "old", "test");
  write_file_atomic(dir.file("f"), "new and longer", "test");
  CHECK(read_file(dir.file("f"), "test") == "new and longer");
  int entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path))
    entries += e.path().filename() == "f" ? 1 : 100;
  CHECK(entries == 1);
}
