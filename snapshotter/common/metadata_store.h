#pragma once
// The snapshotters' metadata: one record per snapshot, persisted as a single JSON document
// (`<root>/metadata.json`) that is rewritten with AtomicWriteFile (temp file, fsync, rename,
// fsync dir) on every change, so after a crash it holds either the old or the new state.
//
// Ownership/threads: a MetadataStore is a plain value, not thread-safe; SnapshotCore owns one
// and guards it with its mutex. Errors: Load() returns DATA_LOSS for a document it cannot parse
// (a corrupt store is not silently reset), Save() the filesystem error.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace berth::snapshotter {

// Values equal to berth.plugin.v1.SnapshotKind.
enum class Kind : int { kView = 1, kActive = 2, kCommitted = 3 };

struct SnapshotRecord {
  uint64_t id = 0;     // names the directory <root>/snapshots/<id>; never reused
  std::string name;    // key (active, view) or name (committed)
  std::string parent;  // name of the committed parent; empty for a base layer
  Kind kind = Kind::kActive;
  std::map<std::string, std::string> labels;
  int64_t created_ns = 0;
  int64_t updated_ns = 0;
};

class MetadataStore {
 public:
  explicit MetadataStore(std::string path) : path_(std::move(path)) {}

  // Reads the document; an absent file is an empty store.
  Status Load();
  // Writes the whole document atomically.
  Status Save() const;

  const std::string& path() const { return path_; }
  std::map<std::string, SnapshotRecord>& records() { return records_; }
  const std::map<std::string, SnapshotRecord>& records() const { return records_; }
  // The next unused id; AllocateId() hands it out and advances it.
  uint64_t AllocateId() { return next_id_++; }

 private:
  std::string path_;
  std::map<std::string, SnapshotRecord> records_;  // by name
  uint64_t next_id_ = 1;
};

int64_t NowUnixNanos();

}  // namespace berth::snapshotter
