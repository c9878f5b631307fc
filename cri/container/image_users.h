#pragma once
// The image's /etc/passwd and /etc/group, read from a prepared rootfs snapshot before the
// container exists, so that user and group names resolve against the image (user_resolver.h).
//
// Free function, callable from any thread (each call uses its own mount point).

#include <string>
#include <vector>

#include "berth/plugin/v1/common.pb.h"
#include "common/status.h"

namespace berth::container {

struct ImageUserFiles {
  std::string passwd;  // "" when the image has no such file
  std::string group;
};

// Mounts `rootfs` (a snapshotter's mounts) read-only on `peek_dir`, reads both files without
// following links out of the rootfs, unmounts and removes `peek_dir`. Errors: the mount failed
// (nothing stays mounted).
Result<ImageUserFiles> ReadImageUserFiles(const std::vector<plugin::v1::Mount>& rootfs,
                                          const std::string& peek_dir);

}  // namespace berth::container
