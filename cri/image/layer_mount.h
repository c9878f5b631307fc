#pragma once
// Where to unpack a layer into a prepared snapshot, from the snapshotter's mount descriptions.
//
//  - overlay with an upperdir= option: the upperdir itself, with overlay whiteouts (what
//    containerd's overlay applier does; no mount needed, and the layer's whiteouts become the
//    0/0 devices and opaque xattrs overlayfs reads).
//  - a single bind mount: its source directory (a bind mount would show the same tree), with
//    whiteouts applied as deletions (the native snapshotter's copy of the parent).
//  - anything else: mounted on a fresh directory under `scratch_dir`, unpacked with deletions,
//    and unmounted by Release().

#include <string>
#include <vector>

#include "berth/plugin/v1/common.pb.h"
#include "common/status.h"
#include "cri/image/unpack/layer_unpacker.h"

namespace berth::image {

struct UnpackTarget {
  std::string dir;
  WhiteoutMode whiteouts = WhiteoutMode::kDelete;
  std::string mountpoint;  // non-empty when we mounted something that Release() must undo
};

Result<UnpackTarget> AcquireUnpackTarget(const std::vector<plugin::v1::Mount>& mounts,
                                         const std::string& scratch_dir);
// Unmounts (lazily when busy) and removes the mountpoint; no-op when nothing was mounted.
Status ReleaseUnpackTarget(const UnpackTarget& target);

// Unmounts and removes every leftover mountpoint under `scratch_dir` (after a crash).
void CleanScratchMounts(const std::string& scratch_dir);

}  // namespace berth::image
