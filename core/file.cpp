#include "core/file.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/error.hpp"

namespace prism {

void write_file_atomic(const std::string& path, std::string_view bytes, const std::string& who) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    PRISM_CHECK(f, who << ": cannot open " << tmp << " for writing: " << std::strerror(errno));
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    f.close();  // a failed close (e.g. a full disk on flush) sets failbit too
    if (!f) {
      std::remove(tmp.c_str());
      PRISM_FAIL(who << ": writing " << tmp << " failed (disk full?)");
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    PRISM_FAIL(who << ": cannot rename " << tmp << " to " << path << ": " << ec.message());
  }
}

std::string read_file(const std::string& path, const std::string& who) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  PRISM_CHECK(status.type() != fs::file_type::not_found,
              who << ": cannot open " << path << ": no such file");
  PRISM_CHECK(!ec, who << ": cannot open " << path << ": " << ec.message());
  // A folder opens as a stream on Linux and reads as empty: refuse it by name. Pipes and
  // /proc files (size 0 until read) are read to their end like any file.
  PRISM_CHECK(status.type() != fs::file_type::directory,
              who << ": cannot open " << path << ": not a regular file (a folder)");
  std::ifstream f(path, std::ios::binary);
  PRISM_CHECK(f, who << ": cannot open " << path << ": " << std::strerror(errno));
  std::string bytes;
  if (status.type() == fs::file_type::regular) bytes.reserve(fs::file_size(path, ec));
  bytes.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  PRISM_CHECK(!f.bad(), who << ": reading " << path << " failed");
  return bytes;
}

}  // namespace prism
