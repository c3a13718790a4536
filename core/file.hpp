// Whole files in and out, with the error handling every format here needs (parameter files,
// snapshots, logs, plots, datasets). `who` starts every error message, e.g. "save_tensors".
#pragma once

#include <string>
#include <string_view>

namespace prism {

// Writes to "<path>.tmp.<pid>" and renames that over path: readers see the old file or the new
// one, never half of one, and a failed write (a full disk) leaves no temporary file behind.
void write_file_atomic(const std::string& path, std::string_view bytes, const std::string& who);

// The file's bytes (prism keeps file contents in a std::string); an error names the file and
// the reason ("no such file", "not a regular file", a short read).
std::string read_file(const std::string& path, const std::string& who);

}  // namespace prism
