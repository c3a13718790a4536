#include "core/file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/error.hpp"

namespace prism {

namespace {

// Closes a descriptor when it goes (also when a check throws).
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Writes all of bytes, retrying short writes and interrupts; false with errno set on failure.
bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

void write_file_atomic(const std::string& path, std::string_view bytes, const std::string& who) {
  namespace fs = std::filesystem;
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    Fd f{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)};
    PRISM_CHECK(f.fd >= 0,
                who << ": cannot open " << tmp << " for writing: " << std::strerror(errno));
    // The bytes reach the disk before the new name points at them: after a crash the name
    // holds the old file or the whole new one, never an empty one.
    if (!write_all(f.fd, bytes) || ::fsync(f.fd) != 0) {
      const int error = errno;
      std::remove(tmp.c_str());
      PRISM_FAIL(who << ": writing " << tmp << " failed: " << std::strerror(error));
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    PRISM_FAIL(who << ": cannot rename " << tmp << " to " << path << ": " << ec.message());
  }
  // And the rename itself is made durable by syncing the folder that holds the name.
  fs::path folder = fs::path(path).parent_path();
  if (folder.empty()) folder = ".";
  Fd dir{::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  PRISM_CHECK(dir.fd >= 0 && ::fsync(dir.fd) == 0, who << ": cannot sync the folder "
                                                       << folder.string() << " after writing "
                                                       << path << ": " << std::strerror(errno));
}

std::string read_file(const std::string& path, const std::string& who, int64_t max_bytes) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  PRISM_CHECK(status.type() != fs::file_type::not_found,
              who << ": cannot open " << path << ": no such file");
  PRISM_CHECK(!ec, who << ": cannot open " << path << ": " << ec.message());
  // A folder opens as a stream on Linux and reads as empty, and a device may never end: refuse
  // them by name. Pipes and /proc files (size 0 until read) are read to their end, up to the
  // bound, like any file.
  PRISM_CHECK(status.type() != fs::file_type::directory,
              who << ": cannot open " << path << ": not a regular file (a folder)");
  PRISM_CHECK(status.type() != fs::file_type::character && status.type() != fs::file_type::block &&
                  status.type() != fs::file_type::socket,
              who << ": cannot open " << path << ": not a regular file (a device or socket)");
  const bool regular = status.type() == fs::file_type::regular;
  if (regular) {
    const auto size = static_cast<int64_t>(fs::file_size(path, ec));
    PRISM_CHECK(size <= max_bytes, who << ": " << path << " has " << size
                                       << " bytes, more than the " << max_bytes
                                       << " this reader takes");
  }
  std::ifstream f(path, std::ios::binary);
  PRISM_CHECK(f, who << ": cannot open " << path << ": " << std::strerror(errno));
  std::string bytes;
  char buffer[1 << 16];
  while (f.read(buffer, sizeof buffer) || f.gcount() > 0) {
    PRISM_CHECK(static_cast<int64_t>(bytes.size()) + f.gcount() <= max_bytes,
                who << ": " << path << " goes on past " << max_bytes
                    << " bytes, more than this reader takes");
    bytes.append(buffer, static_cast<size_t>(f.gcount()));
  }
  PRISM_CHECK(!f.bad(), who << ": reading " << path << " failed");
  return bytes;
}

}  // namespace prism
