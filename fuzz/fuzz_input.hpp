// What the fuzz targets share: the input as a file (the parsers read files) and the rule that a
// parser may only answer bad input with prism::Error. Anything else (a crash, a sanitizer
// report, another exception, a hang) is a bug libFuzzer reports.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.hpp"
#include "core/file.hpp"

namespace prism::fuzz {

// The input, written to a file of this process (tmpfs when there is one).
inline std::string as_file(const uint8_t* data, size_t size, const char* suffix) {
  static const std::string path = std::string(access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp") +
                                  "/prism_fuzz_" + std::to_string(::getpid()) + suffix;
  write_file_atomic(path, std::string(reinterpret_cast<const char*>(data), size), "fuzz");
  return path;
}

// Runs f; prism::Error is the expected answer to bad input.
template <class F>
void expect_only_errors(F&& f) {
  try {
    f();
  } catch (const Error&) {
  }
}

}  // namespace prism::fuzz
