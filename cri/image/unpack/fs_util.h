#pragma once
// Directory-fd based helpers for the unpacker. None of them follows a symlink: names are single
// components relative to a directory fd the caller already verified.

#include <string>
#include <vector>

#include "common/status.h"

namespace berth {

// Removes `name` in `dir_fd` (an O_PATH or regular directory fd), recursively when it is a
// directory. A missing name is OK. Holds one fd per directory level while descending.
Status RemoveAllAt(int dir_fd, const std::string& name);

// The names in directory `dir_fd` (without "." and "..").
Result<std::vector<std::string>> ListDirAt(int dir_fd);

}  // namespace berth
