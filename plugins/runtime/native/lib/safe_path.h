#pragma once
// Resolving paths inside a container rootfs without ever leaving it (CVE-2021-30465 class).
//
// Every lookup goes through common/safe_path.h (openat2 with RESOLVE_IN_ROOT |
// RESOLVE_NO_MAGICLINKS, or its userspace fallback where openat2 is unavailable) relative to an
// fd of the rootfs: ".." stops at the root, absolute symlinks are resolved against the rootfs
// instead of the host, and /proc magic links are refused. This file adds what container setup
// needs on top: mkdir -p and create-if-missing for mount targets. Callers then act on the
// returned O_PATH fd (mount onto "/proc/self/fd/N"), never on a re-resolved string, so a path
// swapped for a symlink between check and use cannot redirect them.
// All functions are thread-compatible and return fds with O_CLOEXEC that the caller owns.

#include <sys/types.h>

#include <string>
#include <string_view>

#include "common/status.h"

namespace berth::native {

// Opens `path` (absolute or relative, always taken as inside the root) below `root_fd` as an
// O_PATH|O_CLOEXEC fd; `flags` is O_PATH, optionally with O_DIRECTORY (anything else is
// INVALID_ARGUMENT). Symlinks are followed but stay inside the root.
Result<int> OpenInRoot(int root_fd, std::string_view path, int flags);

// Creates `path` and its missing parents as directories inside the root (like mkdir -p).
Status MkdirAllInRoot(int root_fd, std::string_view path, mode_t mode);

// Returns an O_PATH fd of `path` inside the root, creating it first when missing: a directory
// when `directory`, else an empty regular file (parents are created as directories).
Result<int> EnsureInRoot(int root_fd, std::string_view path, bool directory);

// "/proc/self/fd/<fd>": the name under which syscalls that take paths (mount, chmod) act on
// exactly the object `fd` refers to.
std::string FdPath(int fd);

// Splits `path` into its parent and last component ("/a/b/c" → "/a/b", "c"); "/" for top-level.
std::pair<std::string, std::string> SplitLast(std::string_view path);

}  // namespace berth::native
