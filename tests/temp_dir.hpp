// A fresh temporary folder per test, removed with everything in it at the end.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>

namespace prism::testing {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    static int counter = 0;
    do
      path = std::filesystem::temp_directory_path() /
             ("prism_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    while (!std::filesystem::create_directory(path));
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::filesystem::path operator/(const std::string& name) const { return path / name; }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

}  // namespace prism::testing
