// The `overlay` snapshotter (io.berth.snapshotter.v1, berth's default): every snapshot is a
// directory <root>/snapshots/<id>/{fs,work}; a committed snapshot's fs/ is one overlayfs layer.
//
// Mounts (containerd's overlayfs snapshotter's rules):
//   - no parent (active or view): bind of its own fs/ ("rbind", "rw" or "ro");
//   - a view on one parent: read-only bind of the parent's fs/;
//   - a view on several: overlay with only "lowerdir=" (read-only by nature);
//   - an active snapshot on parents: overlay "workdir=<id>/work", "upperdir=<id>/fs",
//     "lowerdir=<parent fs>:<grandparent fs>:..." (nearest first, as overlayfs wants).
// Kernel limits: mount(2) copies at most one page (4096 bytes, NUL included) of options, and
// overlayfs stacks at most 500 lower layers. Ids are short decimal numbers to keep the option
// short; a snapshot whose options would not fit is refused at Prepare/View with
// RESOURCE_EXHAUSTED naming the limit (nothing is created). With a root of N characters a layer
// costs N + len("/snapshots/<id>/fs:"), so a short root (config "root") allows deeper chains.
//
// Unpacking a layer into an active snapshot (what the image service does): write into the
// upperdir (or the bind source when there is no parent) with whiteouts in overlay form
// (cri/image/unpack WhiteoutMode::kOverlay), not through the mounted overlay.

#include <sys/stat.h>
#include <sys/statfs.h>

#include <cerrno>
#include <fstream>
#include <string>

#include <berth/sdk/plugin.h>

#include "snapshotter/common/core_snapshotter.h"

namespace berth::snapshotter {
namespace {

constexpr size_t kMaxMountData = 4095;   // one page, minus the NUL
constexpr size_t kMaxLowerLayers = 500;  // OVL_MAX_STACK
constexpr long kOverlayfsMagic = 0x794c7630;

class OverlaySnapshotter final : public CoreSnapshotter {
 protected:
  sdk::Status CheckEnvironment() override {
    struct statfs sfs {};
    if (::statfs(core().root().c_str(), &sfs) == 0 &&
        static_cast<long>(sfs.f_type) == kOverlayfsMagic) {
      return sdk::FailedPrecondition(core().root() +
                                     " is on overlayfs, which cannot hold overlayfs upper "
                                     "directories; use the native snapshotter or another root");
    }
    std::ifstream fss("/proc/filesystems");
    std::string line;
    bool listed = false;
    while (std::getline(fss, line)) listed = listed || line.ends_with("\toverlay");
    if (!listed) host().Warn("overlay is not in /proc/filesystems (yet): mounts may fail");
    return {};
  }

  Status CheckNew(const SnapshotChain& chain) override {
    size_t lowers = chain.parent_ids.size();
    if (lowers > kMaxLowerLayers) {
      return Status(StatusCode::kResourceExhausted,
                    "snapshot " + chain.record.name + ": " + std::to_string(lowers) +
                        " layers, overlayfs stacks at most " + std::to_string(kMaxLowerLayers));
    }
    // The id is not known yet: measure with the longest one (20 digits).
    SnapshotChain probe = chain;
    probe.record.id = UINT64_MAX;
    Result<std::vector<MountSpec>> mounts = MountsFor(probe);
    return mounts.ok() ? OkStatus() : mounts.status();
  }

  Status Populate(const std::string& dir, const SnapshotChain&) override {
    if (::mkdir((dir + "/fs").c_str(), 0755) != 0)
      return ErrnoStatus(errno, "mkdir " + dir + "/fs");
    if (::chmod((dir + "/fs").c_str(), 0755) != 0)
      return ErrnoStatus(errno, "chmod " + dir + "/fs");
    if (::mkdir((dir + "/work").c_str(), 0700) != 0) {
      return ErrnoStatus(errno, "mkdir " + dir + "/work");
    }
    return OkStatus();
  }

  Result<std::vector<MountSpec>> MountsFor(const SnapshotChain& chain) const override {
    const SnapshotRecord& r = chain.record;
    const bool view = r.kind == Kind::kView;
    if (chain.parent_ids.empty()) return std::vector<MountSpec>{BindMount(FsDir(r.id), view)};
    if (view && chain.parent_ids.size() == 1) {
      return std::vector<MountSpec>{BindMount(FsDir(chain.parent_ids[0]), true)};
    }
    std::string lower = "lowerdir=";
    for (size_t i = 0; i < chain.parent_ids.size(); ++i) {
      if (i > 0) lower += ':';
      lower += FsDir(chain.parent_ids[i]);
    }
    MountSpec m{"overlay", "overlay", {}};
    if (!view) {
      m.options.push_back("workdir=" + core().SnapshotDir(r.id) + "/work");
      m.options.push_back("upperdir=" + FsDir(r.id));
    }
    m.options.push_back(std::move(lower));
    size_t len = 0;
    for (const std::string& o : m.options) len += o.size() + 1;
    if (len - 1 > kMaxMountData) {
      return Status(StatusCode::kResourceExhausted,
                    "snapshot " + r.name + ": overlay mount options for " +
                        std::to_string(chain.parent_ids.size()) + " layers are " +
                        std::to_string(len - 1) + " bytes, over the kernel's limit of " +
                        std::to_string(kMaxMountData) +
                        " (one page); use a shorter snapshotter root");
    }
    return std::vector<MountSpec>{std::move(m)};
  }
};

}  // namespace
}  // namespace berth::snapshotter

BERTH_EXPORT_PLUGIN(berth::snapshotter::OverlaySnapshotter, "overlay", "1.0.0")
