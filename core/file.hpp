// Whole files in and out, with the error handling every format here needs (parameter files,
// snapshots, logs, plots, datasets). `who` starts every error message, e.g. "save_tensors".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace prism {

// Writes to "<path>.tmp.<pid>", syncs it to disk, renames it over path and syncs the folder:
// readers see the old file or the new one, never half of one, also after a crash or power
// loss; a failed write (a full disk) leaves no temporary file behind.
void write_file_atomic(const std::string& path, std::string_view bytes, const std::string& who);

// The most read_file takes unless told otherwise: 16 GiB.
inline constexpr int64_t kMaxFileBytes = int64_t{16} << 30;

// The file's bytes (prism keeps file contents in a std::string); an error names the file and
// the reason ("no such file", "not a regular file", a file longer than max_bytes, a short read).
std::string read_file(const std::string& path, const std::string& who,
                      int64_t max_bytes = kMaxFileBytes);

}  // namespace prism
