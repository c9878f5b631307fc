#pragma once
// ImageManager: berthd's images end to end — pull (fetch into the content store, unpack each
// layer into a snapshot, record), import from files, resolve, remove, garbage collection and
// image filesystem usage. The gRPC services (cri/server/image_service.h, images_api_service.h)
// are thin adapters over it.
//
// Pull pipeline: Fetcher (parallel, verified, single-flight per blob) → for each layer, lowest
// first, as soon as its blob is complete (UnpackPipeline: unpack overlaps the download): skip when
// its chain id is already committed; else Prepare(tmp-unpack-…, parent chain id) → LayerUnpacker
// into the snapshot (overlay upperdir or mounted dir, layer_mount.h) → diff_id check → Commit(chain
// id). The image record is written last, so an image is visible only once complete. Concurrent
// pulls of one reference share one pull.
//
// Crash safety / garbage collection: every operation that creates content or snapshots counts as
// "active"; GC (unreferenced blobs, ingests, chain-id snapshots and tmp-unpack-* snapshots of
// every snapshotter plugin) runs when none is active: at startup, after RemoveImage, and after a
// failed pull/import. So a pull interrupted by SIGKILL leaves nothing after the next start.
//
// Thread-safe: every public method may be called concurrently.

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/log.h"
#include "common/status.h"
#include "cri/image/content_store.h"
#include "cri/image/fetcher.h"
#include "cri/image/pull_progress.h"
#include "cri/image/registry/config.h"
#include "cri/image/snapshotter_client.h"
#include "cri/image/store/image_store.h"
#include "cri/image/unpack_pipeline.h"
#include "cri/plugin_host/plugin_host.h"

namespace berth::image {

struct ImageManagerOptions {
  std::string root;   // berthd's root: content/, images/, tmp/ live here
  std::string state;  // berthd's state dir: image-mounts/ lives here
  std::string snapshotter = "overlay";
  std::string sandbox_image;  // as configured; normalised by Open
  registry::RegistryConfig registry;
  registry::ClientOptions client_options;
  int max_parallel_downloads = 3;
};

struct FsUsage {
  std::string mountpoint;
  int64_t bytes = 0;
  int64_t inodes = 0;
};

class ImageManager {
 public:
  // Opens the stores and reconciles after a crash (see above). Borrows `plugins`.
  static Result<std::unique_ptr<ImageManager>> Open(ImageManagerOptions options,
                                                    const PluginHost& plugins, Logger logger);
  ~ImageManager();

  // INVALID_ARGUMENT for a bad reference; registry errors keep their codes (NOT_FOUND,
  // UNAUTHENTICATED, PERMISSION_DENIED, UNAVAILABLE, DATA_LOSS, …) with context.
  Result<ImageRecord> Pull(const std::string& reference, const registry::AuthConfig& auth);
  // All or nothing: no record is written unless every image of the source unpacked.
  Result<std::vector<ImageRecord>> Import(const std::string& path, const std::string& name);

  // By id ("sha256:…" or its hex), unique id prefix, repo tag or repo digest, in any reference
  // form. nullopt when there is no such image; INVALID_ARGUMENT for an empty string.
  Result<std::optional<ImageRecord>> Resolve(const std::string& text) const;
  std::vector<ImageRecord> List() const { return images_->List(); }
  // Removes the image with all its tags; OK when absent. Then collects garbage.
  Status Remove(const std::string& text);

  bool IsPinned(const ImageRecord& r) const;
  // The image's config document from the content store.
  Result<std::string> ConfigJson(const std::string& id) const;
  // Usage of the image filesystem (content + image metadata + snapshots) and of the snapshots
  // alone (containers' writable layers live there), both on the filesystem of the root.
  FsUsage ImageFsUsage() const;
  FsUsage ContainerFsUsage() const;

  PullProgressHub& progress() { return progress_; }
  const std::string& snapshotter() const { return options_.snapshotter; }
  // The configured snapshotter; FAILED_PRECONDITION (SnapshotterProblem) when it is not loaded.
  Result<SnapshotterClient> Snapshotter() const;
  // The committed snapshot a rootfs of `image` is prepared from (its top layer's chain id) in
  // the configured snapshotter; FAILED_PRECONDITION when the image is not unpacked there.
  Result<std::string> RootfsParent(const ImageRecord& image) const;
  // The snapshotter's problem in a sentence, "" when it is loaded.
  std::string SnapshotterProblem() const;
  // Runs GC now (or when the last active operation ends).
  Status CollectGarbage();

 private:
  ImageManager(ImageManagerOptions options, const PluginHost& plugins, Logger logger)
      : options_(std::move(options)), plugins_(plugins), logger_(std::move(logger)) {}

  struct Source {  // an image whose blobs are all in the content store
    std::vector<std::string> tags;
    std::vector<std::string> digests;
    std::vector<Digest> blobs;
    Digest manifest_digest, config_digest;
    int64_t manifest_size = 0;
    std::string config_json;
    std::vector<Descriptor> layers;
  };
  Result<ImageRecord> DoPull(const Reference& ref, const registry::AuthConfig& auth);
  // Unpacks the layers (or takes the result of `pipeline`, which already unpacked them while
  // they downloaded) and returns the record to store (not stored yet).
  Result<ImageRecord> Unpack(const Source& src, const std::shared_ptr<PullProgressHub::Entry>& e,
                             UnpackPipeline* pipeline = nullptr);
  // `wait_for_layer`, when set, is called before layer i is unpacked (see UnpackPipeline).
  Result<std::vector<std::string>> UnpackLayers(
      SnapshotterClient& snap, const std::vector<Descriptor>& layers,
      const std::vector<std::string>& diff_ids, const std::shared_ptr<PullProgressHub::Entry>& e,
      const std::function<Status(size_t)>& wait_for_layer = nullptr);
  void BeginOp();
  void EndOp(bool collect);
  Status CollectGarbageLocked();  // gc_mu_ held, no active operation

  ImageManagerOptions options_;
  const PluginHost& plugins_;
  Logger logger_;
  std::unique_ptr<ContentStore> content_;
  std::unique_ptr<ImageStore> images_;
  PullProgressHub progress_;

  std::mutex unpack_mu_;  // one layer unpack at a time: the chain-id check + commit is atomic

  std::mutex gc_mu_;
  int active_ops_ = 0;       // guarded by gc_mu_
  bool gc_pending_ = false;  // guarded by gc_mu_

  struct Flight {
    bool done = false;
    Result<ImageRecord> result = Status(StatusCode::kUnknown, "pending");
  };
  std::mutex flights_mu_;
  std::condition_variable flights_cv_;
  std::map<std::string, std::shared_ptr<Flight>> flights_;  // guarded by flights_mu_
};

}  // namespace berth::image
