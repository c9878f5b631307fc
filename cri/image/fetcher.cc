#include "cri/image/fetcher.h"

#include <atomic>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

namespace berth::image {
namespace {

constexpr int64_t kMaxConfigSize = int64_t{16} << 20;

// Checks the config is an image config consistent with the manifest (one diff_id per layer),
// so a mismatched pair is refused before anyone tries to unpack it.
Status CheckConfig(const std::string& json_text, const ImageManifest& m) {
  auto j = nlohmann::json::parse(json_text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return InvalidArgument("image config " + m.config.digest.String() + " is not a JSON object");
  }
  auto rootfs = j.find("rootfs");
  if (rootfs == j.end() || !rootfs->is_object() || !rootfs->contains("diff_ids") ||
      !(*rootfs)["diff_ids"].is_array()) {
    return InvalidArgument("image config " + m.config.digest.String() + " has no rootfs.diff_ids");
  }
  size_t n = (*rootfs)["diff_ids"].size();
  if (n != m.layers.size()) {
    return InvalidArgument("image config lists " + std::to_string(n) +
                           " layers (diff_ids) but "
                           "the manifest has " +
                           std::to_string(m.layers.size()));
  }
  return OkStatus();
}

}  // namespace

Fetcher::Fetcher(ContentStore& store, registry::RegistryConfig config, Logger logger,
                 registry::ClientOptions client_options)
    : store_(store),
      config_(std::move(config)),
      logger_(std::move(logger)),
      client_options_(client_options) {}

Result<ResolvedImage> Fetcher::Fetch(const Reference& ref, const registry::AuthConfig& auth,
                                     const FetchOptions& options) {
  auto endpoints = config_.EndpointsFor(ref.domain);
  if (!endpoints.ok()) return endpoints.status().Wrap("pull " + ref.String());
  auto authorizer = std::make_shared<registry::Authorizer>(auth, client_options_.timeouts);
  std::string tried;
  Status last;
  for (const registry::Endpoint& ep : *endpoints) {
    registry::RepositoryClient client(ep, ref.path, authorizer, client_options_,
                                      logger_.With({{"endpoint", ep.BaseUrl()}}));
    auto r = FetchFrom(client, ref, options);
    if (r.ok()) return r;
    last = r.status();
    logger_.Warn("pull from endpoint failed",
                 {{"ref", ref.String()}, {"endpoint", ep.BaseUrl()}, {"error", last.message()}});
    tried += (tried.empty() ? "" : "; ") + std::string(ep.is_mirror ? "mirror " : "") +
             ep.BaseUrl() + ": " + last.message();
  }
  if (endpoints->size() == 1) return last.Wrap("pull " + ref.String());
  return Status(last.code(), "pull " + ref.String() + ": every endpoint failed: " + tried);
}

Result<ResolvedImage> Fetcher::FetchFrom(registry::RepositoryClient& client, const Reference& ref,
                                         const FetchOptions& options) {
  ResolvedImage img;
  img.reference = ref;

  auto top = client.GetManifest(ref.Target());
  if (!top.ok()) return top.status();
  auto parsed = ParseManifest(top->body, top->media_type);
  if (!parsed.ok()) return parsed.status().Wrap("manifest " + top->digest.String());
  BERTH_RETURN_IF_ERROR(store_.Put(top->digest, top->body));
  img.repo_digest = ref.Name() + "@" + top->digest.String();

  ImageManifest manifest;
  img.manifest_digest = top->digest;
  img.manifest_media_type = top->media_type;
  if (auto* index = std::get_if<ImageIndex>(&*parsed)) {
    img.index_digest = top->digest;
    auto chosen = SelectPlatform(*index, options.platform);
    if (!chosen.ok()) return chosen.status().Wrap(ref.String());
    auto m = client.GetManifest(chosen->digest.String());
    if (!m.ok()) return m.status();
    if (static_cast<int64_t>(m->body.size()) != chosen->size) {
      return Status(StatusCode::kDataLoss, "manifest " + chosen->digest.String() + " is " +
                                               std::to_string(m->body.size()) +
                                               " bytes; the index says " +
                                               std::to_string(chosen->size));
    }
    auto p = ParseManifest(m->body, m->media_type.empty() ? chosen->media_type : m->media_type);
    if (!p.ok()) return p.status().Wrap("manifest " + chosen->digest.String());
    if (!std::holds_alternative<ImageManifest>(*p)) {
      return Unimplemented("index " + top->digest.String() + " points to another index for " +
                           options.platform.String() + "; nested indexes are not supported");
    }
    BERTH_RETURN_IF_ERROR(store_.Put(m->digest, m->body));
    manifest = std::get<ImageManifest>(std::move(*p));
    img.manifest_digest = m->digest;
    img.manifest_media_type = manifest.media_type;
  } else {
    manifest = std::get<ImageManifest>(std::move(*parsed));
    img.manifest_media_type = manifest.media_type;
  }

  if (manifest.config.size > kMaxConfigSize) {
    return Status(StatusCode::kResourceExhausted,
                  "image config is " + std::to_string(manifest.config.size) +
                      " bytes; the limit is " + std::to_string(kMaxConfigSize));
  }
  BERTH_RETURN_IF_ERROR(FetchBlobs(client, {manifest.config}, options));
  auto cfg = store_.ReadAll(manifest.config.digest, kMaxConfigSize);
  if (!cfg.ok()) return cfg.status();
  BERTH_RETURN_IF_ERROR(CheckConfig(*cfg, manifest));
  img.config_digest = manifest.config.digest;
  img.config_json = std::move(*cfg);

  if (options.on_layers) options.on_layers(img.config_json, manifest.layers);
  BERTH_RETURN_IF_ERROR(FetchBlobs(client, manifest.layers, options));
  img.layers = std::move(manifest.layers);
  img.endpoint = client.BaseUrl();
  return img;
}

Status Fetcher::FetchBlobs(registry::RepositoryClient& client, const std::vector<Descriptor>& blobs,
                           const FetchOptions& options) {
  std::mutex progress_mu;
  auto report = [&](const LayerProgress& p) {
    if (!options.progress) return;
    std::lock_guard lock(progress_mu);
    options.progress(p);
  };
  for (const Descriptor& d : blobs) report({d.digest, LayerProgress::State::kWaiting, 0, d.size});

  std::atomic<size_t> next{0};
  std::mutex err_mu;
  Status first_error;
  std::atomic<bool> failed{false};
  auto worker = [&] {
    for (;;) {
      size_t i = next.fetch_add(1);
      if (i >= blobs.size() || failed) return;
      const Descriptor& d = blobs[i];
      auto outcome = store_.Ensure(d.digest, d.size, [&](Writer& w) {
        report({d.digest, LayerProgress::State::kDownloading, w.offset(), d.size});
        return client.FetchBlob(w, [&](int64_t done) {
          report({d.digest, LayerProgress::State::kDownloading, done, d.size});
        });
      });
      if (!outcome.ok()) {
        std::lock_guard lock(err_mu);
        if (first_error.ok()) first_error = outcome.status();
        failed = true;
        return;
      }
      report({d.digest,
              *outcome == ContentStore::EnsureOutcome::kAlreadyPresent
                  ? LayerProgress::State::kAlreadyExists
                  : LayerProgress::State::kDone,
              d.size, d.size});
    }
  };
  size_t n = std::min<size_t>(std::max(options.max_parallel, 1), blobs.size());
  std::vector<std::thread> threads;
  for (size_t i = 1; i < n; ++i) threads.emplace_back(worker);
  worker();  // the calling thread takes a share too
  for (auto& t : threads) t.join();
  return first_error;
}

}  // namespace berth::image
