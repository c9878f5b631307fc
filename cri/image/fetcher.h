#pragma once
// Fetcher: resolves an image reference on its registry (or configured mirrors) and brings the
// manifest, config and every layer into the content store, verified.
//
//   Fetcher fetcher(store, registry_config, logger);
//   auto image = fetcher.Fetch(ref, auth, {.progress = ...});
//
// Steps: endpoints from RegistryConfig (mirrors in order, then the origin when allowed); on
// each, GET the manifest (verified against the requested digest / Docker-Content-Digest); an
// index selects the platform's manifest; the config and the layers are fetched through
// ContentStore::Ensure (single flight, resumable, verified at commit), at most
// `max_parallel` at a time. An endpoint that fails moves on to the next one; the error
// returned names every endpoint tried. Blobs already present are not downloaded again.
// Nothing is stored unverified; a failed pull may leave verified blobs behind (shared with
// other images; ContentStore::GarbageCollect removes unreferenced ones).
//
// Thread-safe: Fetch may be called concurrently (same-digest downloads happen once).

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/log.h"
#include "common/status.h"
#include "cri/image/content_store.h"
#include "cri/image/manifest.h"
#include "cri/image/reference.h"
#include "cri/image/registry/auth.h"
#include "cri/image/registry/client.h"
#include "cri/image/registry/config.h"

namespace berth::image {

struct LayerProgress {
  enum class State { kWaiting, kDownloading, kDone, kAlreadyExists };
  Digest digest;
  State state = State::kWaiting;
  int64_t done = 0;   // bytes
  int64_t total = 0;  // bytes (descriptor size)
};

struct FetchOptions {
  Platform platform = HostPlatform();
  int max_parallel = 3;
  // Called for the config and each layer as it progresses. Calls are serialised (never two at
  // once) but come from download threads; keep it quick.
  std::function<void(const LayerProgress&)> progress;
  // Called after the config is verified and before any layer downloads, with the config and
  // the layers (lowest first), so the caller can start unpacking while layers download. Called
  // again if a later endpoint (mirror, origin) serves the image after an earlier one failed.
  std::function<void(const std::string& config_json, const std::vector<Descriptor>& layers)>
      on_layers;
};

struct ResolvedImage {
  Reference reference;
  Digest index_digest;     // valid when the reference resolved to an index
  Digest manifest_digest;  // the platform's image manifest
  std::string manifest_media_type;
  Digest config_digest;  // the image id
  std::string config_json;
  std::vector<Descriptor> layers;
  std::string repo_digest;  // "docker.io/library/busybox@sha256:…" (of what the tag points to)
  std::string endpoint;     // the base URL that served it
};

class Fetcher {
 public:
  // Borrows `store`, which must outlive the Fetcher.
  Fetcher(ContentStore& store, registry::RegistryConfig config, Logger logger,
          registry::ClientOptions client_options = {});

  Result<ResolvedImage> Fetch(const Reference& ref, const registry::AuthConfig& auth,
                              const FetchOptions& options = {});

 private:
  Result<ResolvedImage> FetchFrom(registry::RepositoryClient& client, const Reference& ref,
                                  const FetchOptions& options);
  Status FetchBlobs(registry::RepositoryClient& client, const std::vector<Descriptor>& blobs,
                    const FetchOptions& options);

  ContentStore& store_;
  registry::RegistryConfig config_;
  Logger logger_;
  registry::ClientOptions client_options_;
};

}  // namespace berth::image
