// The `native` snapshotter (io.berth.snapshotter.v1): copies instead of stacking, so it works
// on any filesystem (and inside containers where overlayfs is unavailable). Every snapshot is
// <root>/snapshots/<id>/fs, a complete tree:
//   - an active snapshot on a parent starts as a faithful copy of the parent's tree (CopyTree:
//     owners, modes, xattrs, hard links, symlinks, devices, times; reflinks where the
//     filesystem has them), without a parent as an empty directory;
//   - a view on a parent is the parent's own tree, bind-mounted read-only (no copy); a view
//     without a parent is an empty directory, read-only.
// Mounts are always one bind mount ("rbind" + "rw"/"ro"). There are no whiteouts: a layer is
// unpacked into the active snapshot's tree (the bind source) deleting in place
// (cri/image/unpack WhiteoutMode::kDelete).

#include <sys/stat.h>

#include <cerrno>
#include <string>

#include <berth/sdk/plugin.h>

#include "snapshotter/common/core_snapshotter.h"
#include "snapshotter/common/tree_copy.h"

namespace berth::snapshotter {
namespace {

class NativeSnapshotter final : public CoreSnapshotter {
 protected:
  Status Populate(const std::string& dir, const SnapshotChain& chain) override {
    const std::string fs = dir + "/fs";
    if (chain.record.kind == Kind::kActive && !chain.parent_ids.empty()) {
      return CopyTree(FsDir(chain.parent_ids[0]), fs);
    }
    if (::mkdir(fs.c_str(), 0755) != 0) return ErrnoStatus(errno, "mkdir " + fs);
    if (::chmod(fs.c_str(), 0755) != 0) return ErrnoStatus(errno, "chmod " + fs);
    return OkStatus();
  }

  Result<std::vector<MountSpec>> MountsFor(const SnapshotChain& chain) const override {
    const SnapshotRecord& r = chain.record;
    if (r.kind == Kind::kView && !chain.parent_ids.empty()) {
      return std::vector<MountSpec>{BindMount(FsDir(chain.parent_ids[0]), true)};
    }
    return std::vector<MountSpec>{BindMount(FsDir(r.id), r.kind == Kind::kView)};
  }
};

}  // namespace
}  // namespace berth::snapshotter

BERTH_EXPORT_PLUGIN(berth::snapshotter::NativeSnapshotter, "native", "1.0.0")
