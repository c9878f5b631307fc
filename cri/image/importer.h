#pragma once
// Reading images from files on this host into the content store, for berth.v1.Images/Import:
//   - an OCI image layout directory (oci-layout + index.json + blobs/),
//   - the same as a tar (plain, gzip or zstd — whatever libarchive reads),
//   - a `docker save` tarball (manifest.json + <config>.json + <layer>/layer.tar); a Docker
//     schema 2 manifest is synthesised for it (uncompressed layers, as docker saved them).
// Every blob is copied through ContentStore::Ensure, so it is verified against its digest
// (for docker-save layers: the config's diff_ids) before it is visible; a mismatch is
// DATA_LOSS. A tar is first unpacked into `scratch_dir` (regular files only; entries with
// absolute or ".." paths are refused), which the caller removes afterwards.
// Thread-compatible; the content store is thread-safe.

#include <string>
#include <vector>

#include "common/status.h"
#include "cri/image/content_store.h"
#include "cri/image/manifest.h"

namespace berth::image {

struct LocalImage {
  std::vector<std::string> names;  // normalised references to tag the image with
  Digest index_digest;             // valid when the layout entry was an index
  Digest manifest_digest;
  int64_t manifest_size = 0;
  Digest config_digest;
  std::string config_json;
  std::vector<Descriptor> layers;
};

// `name` (normalised by the caller, may be empty) tags images whose source names none.
// INVALID_ARGUMENT when `path` is none of the formats above; NOT_FOUND when it does not exist.
Result<std::vector<LocalImage>> ImportImages(const std::string& path, const std::string& name,
                                             ContentStore& store, const std::string& scratch_dir,
                                             const Platform& platform);

}  // namespace berth::image
