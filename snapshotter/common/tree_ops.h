#pragma once
// Whole-tree operations on snapshot directories: disk usage and removal.
//
// Both walk with *at() calls relative to directory fds, never follow symlinks and never cross
// into another filesystem (a mount point below `path` is not entered: removal fails on it with
// the kernel's EBUSY rather than deleting what is mounted there). Thread-safe (no shared
// state); callers run them outside their locks since they may take long.

#include <cstdint>
#include <string>

#include "common/status.h"

namespace berth::snapshotter {

struct DiskUsage {
  int64_t bytes = 0;   // sum of st_blocks * 512 (allocated space, like du and containerd)
  int64_t inodes = 0;  // entries, `path` itself included; hard links counted once
};

// Usage of the tree at `path`. NOT_FOUND when `path` does not exist.
Result<DiskUsage> TreeUsage(const std::string& path);

// Removes `path` and everything below it. A missing `path` is OK.
Status RemoveTree(const std::string& path);

}  // namespace berth::snapshotter
