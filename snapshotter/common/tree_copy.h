#pragma once
// CopyTree: a faithful copy of a snapshot's tree, for the native (copying) snapshotter.
//
// Preserves file types (regular, directory, symlink, char/block device, FIFO, socket), owners,
// modes (setuid/setgid/sticky included), extended attributes (all namespaces the caller may
// read and write: user.*, trusted.* as root, security.capability), hard links within the tree
// (copied once, linked again) and atime/mtime with nanoseconds. File data is cloned
// (FICLONE, a reflink on btrfs/xfs) when the filesystem can, else copied in the kernel with
// copy_file_range, else with read/write.
//
// `dst` must not exist; it is created with `src`'s metadata. Symlinks are never followed and a
// mount point below `src` is not entered (copied as an empty directory). On error `dst` is left
// partially written: the caller removes it. Thread-safe (no shared state).

#include <string>

#include "common/status.h"

namespace berth::snapshotter {

Status CopyTree(const std::string& src, const std::string& dst);

}  // namespace berth::snapshotter
