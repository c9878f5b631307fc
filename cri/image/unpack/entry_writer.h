#pragma once
// EntryWriter: applies tar entries, one at a time, to a SafeRoot. The policy is documented in
// layer_unpacker.h; this is its implementation, split over entry_writer.cc (files, dirs, links,
// devices), entry_metadata.cc (owners, modes, xattrs, times) and entry_whiteout.cc.
//
// Threads: single-threaded; one EntryWriter per layer unpack.

#include <sys/stat.h>

#include <string>
#include <unordered_set>
#include <vector>

#include "common/log.h"
#include "common/safe_path.h"
#include "common/status.h"
#include "cri/image/unpack/layer_unpacker.h"

struct archive;
struct archive_entry;

namespace berth {

class EntryWriter {
 public:
  // `root`, `stats` are borrowed and must outlive this object.
  EntryWriter(const SafeRoot* root, const UnpackOptions& options, const Logger& log,
              UnpackStats* stats);

  // Applies the entry `e` just read from `a` (file data is read from `a`). Errors name the
  // entry.
  Status Apply(struct archive* a, struct archive_entry* e);

  // Sets the directory times deferred by Apply. Call once, after the last entry.
  Status Finish();

 private:
  Status ApplyClean(struct archive* a, struct archive_entry* e, const std::string& path);
  Status WriteRegular(struct archive* a, struct archive_entry* e, int dir_fd,
                      const std::string& name, const std::string& path);
  Status WriteHardlink(struct archive_entry* e, int dir_fd, const std::string& name,
                       const std::string& path);
  Status WriteDevice(struct archive_entry* e, int dir_fd, const std::string& name);
  // Clears the way for a new entry of type `type` (S_IFMT bits); sets *keep_dir when an
  // existing directory stays (a directory entry over a directory).
  Status MakeRoom(int dir_fd, const std::string& name, mode_t type, bool* keep_dir);

  // entry_metadata.cc. `fd` is an open fd of the object when the caller has one, else -1.
  Status ApplyMetadata(struct archive_entry* e, int dir_fd, const std::string& name, int fd,
                       mode_t type, const std::string& path);
  Status ApplyXattrs(struct archive_entry* e, int fd, mode_t type);

  // entry_whiteout.cc. `dir` is the cleaned directory, `base` the whiteout file's name.
  Status ApplyWhiteout(struct archive_entry* e, const std::string& dir, const std::string& base);
  Status RemoveNotWritten(int dir_fd, const std::string& dir);
  Status MakeOverlayWhiteout(int dir_fd, const std::string& name);

  // Records `path` and its ancestors as written by this layer.
  void MarkWritten(const std::string& path);
  unsigned SymlinkFlags() const;

  const SafeRoot* root_;
  const UnpackOptions& opts_;
  Logger log_;
  UnpackStats* stats_;
  std::unordered_set<std::string> written_;
  struct DirTimes {
    std::string path;
    struct timespec times[2];
  };
  std::vector<DirTimes> dir_times_;
};

}  // namespace berth
