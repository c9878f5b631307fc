#pragma once
// SnapshotCore: the snapshot rules both snapshotters share (containerd semantics), on top of a
// MetadataStore, with the filesystem work delegated to the plugin through a callback.
//
// On-disk layout under `root` (the plugin instance's root_dir):
//   metadata.json          every snapshot record (MetadataStore)
//   snapshots/<id>/        one directory per snapshot; <id> is a short decimal number that is
//                          never reused. The plugin decides what lives inside (fs/, work/).
//   tmp/<id>/              a snapshot being created; renamed to snapshots/<id> when complete.
//
// Rules: keys are non-empty (INVALID_ARGUMENT); a key or name is unique across all snapshots,
// including ones being created (ALREADY_EXISTS); a parent must exist and be committed
// (NOT_FOUND); only active snapshots can be committed (FAILED_PRECONDITION); a snapshot with
// children, or with a child being created, cannot be removed (FAILED_PRECONDITION); an unknown
// key is NOT_FOUND.
//
// Crash safety: Create() builds the directory under tmp/, renames it into snapshots/, and only
// then records it; Remove() records the removal before deleting the directory. Open() deletes
// tmp/ leftovers and every snapshots/<id> the metadata does not name, so a crash at any point
// leaves no half-visible snapshot and nothing leaked after the next start.
//
// Threads: every method may be called concurrently. Metadata is guarded by one mutex; the slow
// filesystem work (populating a new snapshot, deleting one, walking for usage) runs outside it.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "snapshotter/common/metadata_store.h"
#include "snapshotter/common/tree_ops.h"

namespace berth::snapshotter {

// A snapshot and the ids of its committed ancestors, nearest (the parent) first.
struct SnapshotChain {
  SnapshotRecord record;
  std::vector<uint64_t> parent_ids;
};

class SnapshotCore {
 public:
  // Fills the new snapshot's directory `dir` (it exists, empty). Runs without the lock; a
  // non-OK status aborts the creation and nothing remains.
  using Populate = std::function<Status(const std::string& dir, const SnapshotChain& chain)>;
  // Called with the lock held, before anything is created, to refuse a snapshot early (e.g. a
  // chain too deep for overlayfs). May be empty.
  using Check = std::function<Status(const SnapshotChain& chain)>;

  // Creates the layout under `root` if needed, loads the metadata and removes leftovers
  // (see above). `removed` (may be null) receives the leftover paths that were deleted.
  static Result<std::unique_ptr<SnapshotCore>> Open(const std::string& root,
                                                    std::vector<std::string>* removed = nullptr);

  const std::string& root() const { return root_; }
  // <root>/snapshots/<id>
  std::string SnapshotDir(uint64_t id) const;

  // Prepare (kind kActive) or View (kind kView) `key` on `parent` (empty: none).
  Result<SnapshotChain> Create(Kind kind, const std::string& key, const std::string& parent,
                               const std::map<std::string, std::string>& labels, const Check& check,
                               const Populate& populate);
  // The active snapshot `key` becomes the committed `name`, with `labels`. Its directory stays.
  Status Commit(const std::string& name, const std::string& key,
                const std::map<std::string, std::string>& labels);
  Status Remove(const std::string& key);
  Result<SnapshotChain> Get(const std::string& key) const;
  // Usage of <SnapshotDir(id)>/<subdir> of `key`, walked without the lock.
  Result<DiskUsage> Usage(const std::string& key, const std::string& subdir) const;
  // Every snapshot carrying all of `filter` (exact values), sorted by name.
  std::vector<SnapshotRecord> Walk(const std::map<std::string, std::string>& filter) const;

 private:
  explicit SnapshotCore(std::string root);
  Status CleanLeftovers(std::vector<std::string>* removed);
  Result<SnapshotChain> ChainLocked(const SnapshotRecord& record) const;
  bool TakenLocked(const std::string& name) const;

  const std::string root_;
  mutable std::mutex mu_;
  MetadataStore store_;                          // guarded by mu_
  std::map<std::string, std::string> creating_;  // key -> parent, guarded by mu_
};

}  // namespace berth::snapshotter
