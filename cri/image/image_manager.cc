#include "cri/image/image_manager.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <random>

#include "berth/plugin_abi.h"
#include "common/fs.h"
#include "cri/image/importer.h"
#include "cri/image/layer_mount.h"
#include "cri/image/reference.h"
#include "cri/image/unpack/layer_unpacker.h"

namespace berth::image {
namespace {

namespace fs = std::filesystem;

std::string RandomHex(size_t n) {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  static const char kHex[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) s += kHex[rng() % 16];
  return s;
}

bool AllHex(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'f');
  });
}

PullLayerState::State MapFetchState(LayerProgress::State s) {
  switch (s) {
    case LayerProgress::State::kWaiting:
      return PullLayerState::kWaiting;
    case LayerProgress::State::kDownloading:
      return PullLayerState::kDownloading;
    case LayerProgress::State::kDone:
    case LayerProgress::State::kAlreadyExists:
      return PullLayerState::kDownloading;
  }
  return PullLayerState::kUnknown;
}

std::string FlightKey(const Reference& ref, const registry::AuthConfig& a) {
  // Pulls with different credentials must not share an outcome (one may be refused).
  return ref.String() + "\n" +
         DigestOf(a.username + "\n" + a.password + "\n" + a.auth + "\n" + a.identity_token + "\n" +
                  a.registry_token)
             .String();
}

}  // namespace

Result<std::unique_ptr<ImageManager>> ImageManager::Open(ImageManagerOptions options,
                                                         const PluginHost& plugins, Logger logger) {
  if (!options.sandbox_image.empty()) {
    auto r = ParseReference(options.sandbox_image);
    if (!r.ok()) return r.status().Wrap("sandbox_image");
    options.sandbox_image = r->String();
  }
  std::unique_ptr<ImageManager> m(new ImageManager(std::move(options), plugins, std::move(logger)));
  auto content = ContentStore::Open(m->options_.root);
  if (!content.ok()) return content.status();
  m->content_ = std::move(*content);
  auto images = ImageStore::Open(m->options_.root, m->logger_.With({{"component", "image_store"}}));
  if (!images.ok()) return images.status();
  m->images_ = std::move(*images);
  // Leftovers of a crash: unpack mounts, import scratch directories.
  CleanScratchMounts(m->options_.state + "/image-mounts");
  std::error_code ec;
  fs::remove_all(m->options_.root + "/tmp", ec);
  if (Status s = m->CollectGarbage(); !s.ok()) {
    m->logger_.Warn("image garbage collection at startup failed", {{"error", s.message()}});
  }
  if (std::string p = m->SnapshotterProblem(); !p.empty()) m->logger_.Error(p);
  return m;
}

ImageManager::~ImageManager() = default;

std::string ImageManager::SnapshotterProblem() const {
  if (plugins_.Find(BERTH_PLUGIN_TYPE_SNAPSHOTTER, options_.snapshotter)) return "";
  return "snapshotter plugin \"" + options_.snapshotter +
         "\" (" BERTH_PLUGIN_TYPE_SNAPSHOTTER
         ") is not loaded: images cannot be unpacked (see berthctl plugins and the "
         "\"snapshotter\" key of the berthd config)";
}

Result<SnapshotterClient> ImageManager::Snapshotter() const {
  const PluginHandle* h = plugins_.Find(BERTH_PLUGIN_TYPE_SNAPSHOTTER, options_.snapshotter);
  if (!h) return FailedPrecondition(SnapshotterProblem());
  return SnapshotterClient(h, options_.snapshotter);
}

Result<std::string> ImageManager::RootfsParent(const ImageRecord& image) const {
  auto chain = image.snapshots.find(options_.snapshotter);
  if (chain == image.snapshots.end() || chain->second.empty()) {
    return FailedPrecondition("image " + image.id + " is not unpacked for snapshotter " +
                              options_.snapshotter + "; pull it again");
  }
  return chain->second.back();
}

bool ImageManager::IsPinned(const ImageRecord& r) const {
  if (r.pinned) return true;
  const std::string& s = options_.sandbox_image;
  return !s.empty() &&
         (std::find(r.repo_tags.begin(), r.repo_tags.end(), s) != r.repo_tags.end() ||
          std::find(r.repo_digests.begin(), r.repo_digests.end(), s) != r.repo_digests.end());
}

Result<std::string> ImageManager::ConfigJson(const std::string& id) const {
  auto d = Digest::Parse(id);
  if (!d.ok()) return d.status();
  return content_->ReadAll(*d);
}

// ---- pull ---------------------------------------------------------------------------------------

Result<ImageRecord> ImageManager::Pull(const std::string& reference,
                                       const registry::AuthConfig& auth) {
  auto ref = ParseReference(reference);
  if (!ref.ok()) return ref.status();
  std::string key = FlightKey(*ref, auth);
  std::shared_ptr<Flight> flight;
  {
    std::unique_lock lock(flights_mu_);
    auto it = flights_.find(key);
    if (it != flights_.end()) {
      std::shared_ptr<Flight> other = it->second;
      flights_cv_.wait(lock, [&] { return other->done; });
      return other->result;
    }
    flight = std::make_shared<Flight>();
    flights_[key] = flight;
  }
  auto result = DoPull(*ref, auth);
  std::lock_guard lock(flights_mu_);
  flight->result = result;
  flight->done = true;
  flights_.erase(key);
  flights_cv_.notify_all();
  return result;
}

Result<ImageRecord> ImageManager::DoPull(const Reference& ref, const registry::AuthConfig& auth) {
  BeginOp();
  bool failed = true;
  struct End {
    ImageManager* m;
    bool* failed;
    ~End() { m->EndOp(*failed); }
  } end{this, &failed};

  auto entry = progress_.Begin(ref.String());
  auto fail = [&](const Status& s) -> Status {
    progress_.Finish(entry, s.message(), "");
    logger_.Warn("pull failed", {{"ref", ref.String()}, {"error", s.message()}});
    return s;
  };
  // Check before downloading anything, so a missing plugin does not cost a download.
  if (auto snap = Snapshotter(); !snap.ok())
    return fail(snap.status().Wrap("pull " + ref.String()));

  FetchOptions opts;
  opts.max_parallel = options_.max_parallel_downloads;
  std::string config_digest;  // the fetcher reports the config first; it is no layer
  // Layers unpack (lowest first) while the ones above them still download.
  std::mutex pipeline_mu;
  std::unique_ptr<UnpackPipeline> pipeline;
  opts.on_layers = [&](const std::string& config_json, const std::vector<Descriptor>& layers) {
    auto cfg = ParseImageConfig(config_json);
    // A bad config is reported by Unpack() below, after the download, with the usual context.
    if (!cfg.ok() || cfg->diff_ids.size() != layers.size()) return;
    std::lock_guard lock(pipeline_mu);
    pipeline.reset();  // an earlier endpoint's pipeline: cancelled and joined
    pipeline = std::make_unique<UnpackPipeline>(
        layers, config_json,
        [this, layers, diff_ids = cfg->diff_ids,
         entry](const UnpackPipeline::WaitFn& wait) -> Result<std::vector<std::string>> {
          auto snap = Snapshotter();
          if (!snap.ok()) return snap.status();
          return UnpackLayers(*snap, layers, diff_ids, entry, wait);
        });
  };
  opts.progress = [&](const LayerProgress& p) {
    if (config_digest.empty()) config_digest = p.digest.String();
    if (p.digest.String() == config_digest) return;
    if (p.state == LayerProgress::State::kDone || p.state == LayerProgress::State::kAlreadyExists) {
      std::lock_guard lock(pipeline_mu);
      if (pipeline) pipeline->MarkReady(p.digest);
    }
    progress_.Update(entry, {p.digest.String(), p.total, p.done, MapFetchState(p.state)});
  };
  Fetcher fetcher(*content_, options_.registry, logger_.With({{"component", "fetcher"}}),
                  options_.client_options);
  logger_.Info("pulling image", {{"ref", ref.String()}});
  auto img = fetcher.Fetch(ref, auth, opts);
  if (!img.ok()) {
    pipeline.reset();  // cancels the unpack and joins it; GC removes what it committed
    return fail(img.status());
  }
  if (pipeline && pipeline->config_json() != img->config_json) pipeline.reset();

  Source src;
  if (!ref.tag.empty()) src.tags.push_back(ref.Name() + ":" + ref.tag);
  src.digests.push_back(img->repo_digest);
  if (img->index_digest.valid()) src.blobs.push_back(img->index_digest);
  src.blobs.push_back(img->manifest_digest);
  src.manifest_digest = img->manifest_digest;
  auto minfo = content_->Info(img->manifest_digest);
  src.manifest_size = minfo.ok() ? minfo->size : 0;
  src.config_digest = img->config_digest;
  src.config_json = img->config_json;
  src.layers = img->layers;
  auto rec = Unpack(src, entry, pipeline.get());
  if (!rec.ok()) return fail(rec.status().Wrap("pull " + ref.String()));
  auto stored = images_->Put(std::move(*rec));
  if (!stored.ok()) return fail(stored.status());
  failed = false;
  progress_.Finish(entry, "", stored->id);
  logger_.Info("pulled image", {{"ref", ref.String()}, {"id", stored->id}});
  return stored;
}

Result<ImageRecord> ImageManager::Unpack(const Source& src,
                                         const std::shared_ptr<PullProgressHub::Entry>& e,
                                         UnpackPipeline* pipeline) {
  auto cfg = ParseImageConfig(src.config_json);
  if (!cfg.ok()) return cfg.status().Wrap("image config " + src.config_digest.String());
  if (cfg->diff_ids.size() != src.layers.size()) {
    return InvalidArgument("image config lists " + std::to_string(cfg->diff_ids.size()) +
                           " diff_ids but the manifest has " + std::to_string(src.layers.size()) +
                           " layers");
  }
  auto snap = Snapshotter();
  if (!snap.ok()) return snap.status();
  auto chain = pipeline ? pipeline->Wait() : UnpackLayers(*snap, src.layers, cfg->diff_ids, e);
  if (!chain.ok()) return chain.status();

  ImageRecord r;
  r.id = src.config_digest.String();
  r.repo_tags = src.tags;
  r.repo_digests = src.digests;
  r.manifest_digest = src.manifest_digest.String();
  r.size = src.manifest_size + static_cast<int64_t>(src.config_json.size());
  for (const Digest& b : src.blobs) r.blobs.push_back(b.String());
  if (std::find(r.blobs.begin(), r.blobs.end(), r.id) == r.blobs.end()) r.blobs.push_back(r.id);
  for (const Descriptor& l : src.layers) {
    r.size += l.size;
    r.blobs.push_back(l.digest.String());
  }
  r.snapshots[snap->name()] = std::move(*chain);
  r.config = std::move(*cfg);
  r.pinned = IsPinned(r);
  return r;
}

Result<std::vector<std::string>> ImageManager::UnpackLayers(
    SnapshotterClient& snap, const std::vector<Descriptor>& layers,
    const std::vector<std::string>& diff_ids, const std::shared_ptr<PullProgressHub::Entry>& e,
    const std::function<Status(size_t)>& wait_for_layer) {
  std::vector<std::string> chain = ChainIds(diff_ids);
  auto report = [&](const Descriptor& l, PullLayerState::State s) {
    if (e) progress_.Update(e, {l.digest.String(), l.size, l.size, s});
  };
  std::string parent;
  for (size_t i = 0; i < layers.size(); ++i) {
    const Descriptor& layer = layers[i];
    if (wait_for_layer) BERTH_RETURN_IF_ERROR(wait_for_layer(i));
    std::lock_guard lock(unpack_mu_);
    auto exists = snap.HasCommitted(chain[i]);
    if (!exists.ok()) return exists.status();
    if (*exists) {
      report(layer, PullLayerState::kDone);
      parent = chain[i];
      continue;
    }
    report(layer, PullLayerState::kUnpacking);
    std::string key = "tmp-unpack-" + RandomHex(12) + "-" + chain[i].substr(7, 12);
    auto mounts = snap.Prepare(key, parent);
    if (!mounts.ok()) return mounts.status().Wrap("layer " + layer.digest.String());
    auto discard = [&](const Status& s) -> Status {
      if (Status r = snap.Remove(key); !r.ok()) {
        logger_.Warn("cannot remove temporary snapshot", {{"key", key}, {"error", r.message()}});
      }
      return s.Wrap("layer " + layer.digest.String());
    };
    auto target = AcquireUnpackTarget(*mounts, options_.state + "/image-mounts");
    if (!target.ok()) return discard(target.status());
    UnpackOptions uo;
    uo.whiteouts = target->whiteouts;
    uo.media_type = layer.media_type;
    uo.devices = DevicePolicy::kCreate;  // berthd runs as root, like containerd privileged
    uo.preserve_ownership = true;
    auto stats = UnpackLayerFile(content_->BlobPath(layer.digest), target->dir, uo,
                                 logger_.With({{"layer", layer.digest.String()}}));
    Status released = ReleaseUnpackTarget(*target);
    if (!stats.ok()) return discard(stats.status());
    if (!released.ok()) return discard(released);
    if (stats->diff_id != diff_ids[i]) {
      return discard(
          Status(StatusCode::kDataLoss, "uncompressed content has diff_id " + stats->diff_id +
                                            " but the image config says " + diff_ids[i]));
    }
    Status c = snap.Commit(chain[i], key);
    if (c.code() == StatusCode::kAlreadyExists) {
      (void)discard(OkStatus());
    } else if (!c.ok()) {
      return discard(c);
    }
    report(layer, PullLayerState::kDone);
    parent = chain[i];
  }
  return chain;
}

// ---- import -------------------------------------------------------------------------------------

Result<std::vector<ImageRecord>> ImageManager::Import(const std::string& path,
                                                      const std::string& name) {
  std::string normalised;
  if (!name.empty()) {
    auto r = ParseReference(name);
    if (!r.ok()) return r.status();
    normalised = r->String();
  }
  BeginOp();
  bool failed = true;
  struct End {
    ImageManager* m;
    bool* failed;
    ~End() { m->EndOp(*failed); }
  } end{this, &failed};

  std::string scratch = options_.root + "/tmp/import-" + RandomHex(12);
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{scratch};
  auto local = ImportImages(path, normalised, *content_, scratch, HostPlatform());
  if (!local.ok()) return local.status().Wrap("import " + path);

  std::vector<ImageRecord> records;
  for (const LocalImage& li : *local) {
    Source src;
    src.tags = li.names;
    if (li.index_digest.valid()) src.blobs.push_back(li.index_digest);
    src.blobs.push_back(li.manifest_digest);
    src.manifest_digest = li.manifest_digest;
    src.manifest_size = li.manifest_size;
    src.config_digest = li.config_digest;
    src.config_json = li.config_json;
    src.layers = li.layers;
    auto rec = Unpack(src, nullptr);
    if (!rec.ok()) return rec.status().Wrap("import " + path);
    records.push_back(std::move(*rec));
  }
  std::vector<ImageRecord> stored;
  for (ImageRecord& r : records) {
    auto s = images_->Put(std::move(r));
    if (!s.ok()) {
      for (const ImageRecord& done : stored) (void)images_->Remove(done.id);
      return s.status();
    }
    stored.push_back(std::move(*s));
  }
  failed = false;
  logger_.Info("imported images", {{"path", path}, {"count", static_cast<int>(stored.size())}});
  return stored;
}

// ---- resolve / remove ---------------------------------------------------------------------------

Result<std::optional<ImageRecord>> ImageManager::Resolve(const std::string& text) const {
  if (text.empty()) return InvalidArgument("image reference is empty");
  if (text.rfind("sha256:", 0) == 0 && Digest::Parse(text).ok()) return images_->Get(text);
  if (text.size() == 64 && AllHex(text)) return images_->Get("sha256:" + text);
  auto ref = ParseReference(text);
  if (ref.ok()) {
    auto r = ref->digest.valid() ? images_->FindByRef(ref->Name() + "@" + ref->digest.String())
                                 : images_->FindByRef(ref->Name() + ":" + ref->tag);
    if (r) return r;
  }
  if (text.size() >= 4 && AllHex(text)) {
    auto ids = images_->IdsWithPrefix(text);
    if (ids.size() == 1) return images_->Get(ids[0]);
    return std::optional<ImageRecord>();
  }
  if (!ref.ok()) return ref.status();
  return std::optional<ImageRecord>();
}

Status ImageManager::Remove(const std::string& text) {
  auto r = Resolve(text);
  if (!r.ok()) return r.status();
  if (!*r) return OkStatus();
  auto removed = images_->Remove((*r)->id);
  if (!removed.ok()) return removed.status();
  logger_.Info("removed image", {{"id", (*r)->id}});
  return CollectGarbage();
}

}  // namespace berth::image
