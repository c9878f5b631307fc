// ImageManager: garbage collection, the active-operation count that defers it, and filesystem
// usage.

#include <ftw.h>
#include <sys/stat.h>

#include <set>

#include "berth/plugin_abi.h"
#include "cri/image/image_manager.h"

namespace berth::image {
namespace {

bool IsChainId(const std::string& name) { return Digest::Parse(name).ok(); }
bool IsTmpUnpack(const std::string& name) { return name.rfind("tmp-unpack-", 0) == 0; }

// nftw has no user pointer; a thread-local accumulator is the usual way.
thread_local std::set<std::pair<dev_t, ino_t>>* g_seen = nullptr;
thread_local int64_t g_bytes = 0;

int CountEntry(const char*, const struct stat* st, int, struct FTW*) {
  if (g_seen->insert({st->st_dev, st->st_ino}).second) {
    g_bytes += static_cast<int64_t>(st->st_blocks) * 512;
  }
  return 0;
}

// Bytes allocated and inodes used under `dirs`, staying on their filesystems (FTW_MOUNT: a
// container rootfs mounted below is not counted) and counting hard links once.
std::pair<int64_t, int64_t> DiskUsage(const std::vector<std::string>& dirs) {
  std::set<std::pair<dev_t, ino_t>> seen;
  g_seen = &seen;
  g_bytes = 0;
  for (const std::string& d : dirs) ::nftw(d.c_str(), CountEntry, 32, FTW_PHYS | FTW_MOUNT);
  g_seen = nullptr;
  return {g_bytes, static_cast<int64_t>(seen.size())};
}

}  // namespace

void ImageManager::BeginOp() {
  std::lock_guard lock(gc_mu_);
  ++active_ops_;
}

void ImageManager::EndOp(bool collect) {
  std::lock_guard lock(gc_mu_);
  --active_ops_;
  if (collect) gc_pending_ = true;
  if (active_ops_ == 0 && gc_pending_) {
    gc_pending_ = false;
    if (Status s = CollectGarbageLocked(); !s.ok()) {
      logger_.Warn("image garbage collection failed", {{"error", s.message()}});
    }
  }
}

Status ImageManager::CollectGarbage() {
  std::lock_guard lock(gc_mu_);
  if (active_ops_ > 0) {
    gc_pending_ = true;  // the last active operation runs it
    return OkStatus();
  }
  gc_pending_ = false;
  return CollectGarbageLocked();
}

Status ImageManager::CollectGarbageLocked() {
  std::vector<ImageRecord> records = images_->List();
  std::set<Digest> keep_blobs;
  std::map<std::string, std::set<std::string>> keep_snaps;
  for (const ImageRecord& r : records) {
    for (const std::string& b : r.blobs) {
      if (auto d = Digest::Parse(b); d.ok()) keep_blobs.insert(*d);
    }
    for (const auto& [sn, chain] : r.snapshots) keep_snaps[sn].insert(chain.begin(), chain.end());
  }
  auto content = content_->GarbageCollect(keep_blobs);
  if (!content.ok()) return content.status().Wrap("content garbage collection");
  if (content->blobs_removed || content->ingests_removed) {
    logger_.Info("content garbage collected",
                 {{"blobs", content->blobs_removed},
                  {"bytes", static_cast<long long>(content->bytes_removed)},
                  {"ingests", content->ingests_removed}});
  }

  Status first;
  for (const PluginHandle* h : plugins_.FindAll(BERTH_PLUGIN_TYPE_SNAPSHOTTER)) {
    SnapshotterClient snap(h, h->name());
    auto all = snap.Walk();
    if (!all.ok()) {
      if (first.ok()) first = all.status();
      continue;
    }
    const std::set<std::string>& keep = keep_snaps[h->name()];
    std::map<std::string, std::string> alive;  // name → parent
    for (const auto& s : *all) alive[s.name()] = s.parent();
    // Temporary unpack snapshots first: nothing is unpacking now.
    std::set<std::string> candidates;
    for (const auto& s : *all) {
      if (IsTmpUnpack(s.name()) && s.kind() != plugin::v1::SNAPSHOT_KIND_COMMITTED) {
        candidates.insert(s.name());
      } else if (s.kind() == plugin::v1::SNAPSHOT_KIND_COMMITTED && IsChainId(s.name()) &&
                 !keep.count(s.name())) {
        candidates.insert(s.name());
      }
    }
    // Remove leaves until nothing more can go (a chain is removed top down; a snapshot that a
    // container's active snapshot uses as parent stays).
    int removed = 0;
    for (bool progress = true; progress;) {
      progress = false;
      for (auto it = candidates.begin(); it != candidates.end();) {
        bool has_child = false;
        for (const auto& [n, p] : alive) {
          if (p == *it) {
            has_child = true;
            break;
          }
        }
        if (has_child) {
          ++it;
          continue;
        }
        Status s = snap.Remove(*it);
        if (!s.ok() && s.code() != StatusCode::kNotFound) {
          logger_.Warn("cannot remove snapshot",
                       {{"snapshotter", h->name()}, {"key", *it}, {"error", s.message()}});
          if (first.ok()) first = s;
          it = candidates.erase(it);
          continue;
        }
        alive.erase(*it);
        it = candidates.erase(it);
        ++removed;
        progress = true;
      }
    }
    if (removed) {
      logger_.Info("snapshots garbage collected",
                   {{"snapshotter", h->name()}, {"removed", removed}});
    }
  }
  return first;
}

FsUsage ImageManager::ImageFsUsage() const {
  auto [bytes, inodes] = DiskUsage({options_.root + "/content", options_.root + "/images",
                                    options_.root + "/plugins/" BERTH_PLUGIN_TYPE_SNAPSHOTTER});
  return {options_.root, bytes, inodes};
}

FsUsage ImageManager::ContainerFsUsage() const {
  auto [bytes, inodes] = DiskUsage({options_.root + "/plugins/" BERTH_PLUGIN_TYPE_SNAPSHOTTER});
  return {options_.root, bytes, inodes};
}

}  // namespace berth::image
