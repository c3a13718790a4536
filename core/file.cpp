#include "core/file.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

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
  PRISM_CHECK(fs::is_regular_file(path, ec),
              who << ": cannot open " << path << ": "
                  << (fs::exists(path, ec) ? "not a regular file" : "no such file"));
  const uintmax_t size = fs::file_size(path, ec);
  PRISM_CHECK(!ec, who << ": cannot get the size of " << path << " (" << ec.message() << ")");
  std::ifstream f(path, std::ios::binary);
  PRISM_CHECK(f, who << ": cannot open " << path << ": " << std::strerror(errno));
  std::string bytes(size, '\0');
  f.read(bytes.data(), static_cast<std::streamsize>(size));
  PRISM_CHECK(static_cast<uintmax_t>(f.gcount()) == size, who << ": reading " << path
                                                              << " failed after " << f.gcount()
                                                              << " of " << size << " bytes");
  return bytes;
}

}  // namespace prism
