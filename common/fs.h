#pragma once
// Small filesystem helpers whose crash-safety other code relies on.

#include <sys/types.h>

#include <string>
#include <string_view>

#include "common/status.h"

namespace berth {

// Replaces `path` with `data` so that after a crash at any point the file holds either the old
// content or the new one, never a mix: writes a temporary file in the same directory, fsyncs
// it, renames it over `path`, then fsyncs the directory. The temporary file is removed on
// failure. `mode` applies to the new file.
Status AtomicWriteFile(const std::string& path, std::string_view data, mode_t mode = 0644);

// Reads a whole file. NOT_FOUND when it does not exist.
Result<std::string> ReadFile(const std::string& path);

// Creates `path` and its missing parents with `mode`; an existing directory is fine, and its
// mode is set to `mode` (so a state directory cannot stay world-readable from an earlier run).
Status MakeDirs(const std::string& path, mode_t mode);

}  // namespace berth
