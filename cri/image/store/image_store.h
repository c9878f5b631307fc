#pragma once
// ImageStore: berthd's image metadata, one JSON record per image under <root>/images/<hex>.json,
// each written atomically (write + fsync + rename + fsync dir), kept in memory for lookups.
//
// Rules
// - The image id is the config digest; Put() of an id that exists merges: tags and digests are
//   added, the rest is replaced by the new record.
// - A repo tag names one image: putting a record with tag T moves T away from any other image
//   (that image stays, possibly untagged, as in containerd). The new record is written first, so
//   after a crash between the two writes both claim T; Open() gives it to the newer record.
// - Nothing else lives here: an image becomes visible only once its record is written, which the
//   puller does last, so a crash mid-pull never leaves a partial image.
// Thread-safe: one mutex guards the map and serialises writes.

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/log.h"
#include "common/status.h"
#include "cri/image/store/image_record.h"

namespace berth::image {

class ImageStore {
 public:
  // Loads every record under <root>/images (created 0700 when missing). Unreadable records are
  // logged and skipped (and their temp files removed), so one bad file cannot stop berthd.
  static Result<std::unique_ptr<ImageStore>> Open(const std::string& root, Logger logger);

  // Adds or merges `record` (see the rules above); returns the stored, merged record.
  Result<ImageRecord> Put(ImageRecord record);
  // Removes the image `id`; false when there was none.
  Result<bool> Remove(const std::string& id);

  std::optional<ImageRecord> Get(const std::string& id) const;
  // The image carrying the normalised repo tag or repo digest `ref`.
  std::optional<ImageRecord> FindByRef(const std::string& ref) const;
  // Ids that start with `prefix` (hex, with or without "sha256:").
  std::vector<std::string> IdsWithPrefix(const std::string& prefix) const;
  std::vector<ImageRecord> List() const;

 private:
  ImageStore(std::string dir, Logger logger) : dir_(std::move(dir)), logger_(std::move(logger)) {}
  std::string PathFor(const std::string& id) const;
  Status Write(const ImageRecord& r) const;

  std::string dir_;
  Logger logger_;
  mutable std::mutex mu_;
  std::map<std::string, ImageRecord> images_;  // id → record; guarded by mu_
};

}  // namespace berth::image
