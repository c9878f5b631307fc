#include "tests/integration/image_service_fixture.h"

#include <signal.h>
#include <sys/mount.h>

#include <chrono>

#include "berth/plugin_abi.h"
#include "cri/image/digest.h"
#include "cri/image/snapshotter_client.h"
#include "cri/plugin_host/plugin_host.h"

namespace berth::testing {
namespace {

std::string Env(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

std::string AddBlob(const std::string& layout, const std::string& data) {
  std::string d = image::DigestOf(data).String();
  fs::create_directories(layout + "/blobs/sha256");
  std::ofstream(layout + "/blobs/sha256/" + d.substr(7), std::ios::binary) << data;
  return d;
}

void WriteLayout(const std::string& dst, const nlohmann::json& config,
                 const nlohmann::json& layers) {
  std::string cfg = config.dump();
  std::string cfg_digest = AddBlob(dst, cfg);
  nlohmann::json man = {{"schemaVersion", 2},
                        {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                        {"config",
                         {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                          {"digest", cfg_digest},
                          {"size", cfg.size()}}},
                        {"layers", layers}};
  std::string m = man.dump();
  std::string m_digest = AddBlob(dst, m);
  nlohmann::json idx = {{"schemaVersion", 2},
                        {"mediaType", "application/vnd.oci.image.index.v1+json"},
                        {"manifests",
                         {{{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                           {"digest", m_digest},
                           {"size", m.size()},
                           {"annotations", {{"org.opencontainers.image.ref.name", "latest"}}}}}}};
  std::ofstream(dst + "/index.json") << idx.dump();
  std::ofstream(dst + "/oci-layout") << R"({"imageLayoutVersion":"1.0.0"})";
}

}  // namespace

void TestImages::Derive(const std::string& src, const std::string& dst,
                        const std::function<void(nlohmann::json&)>& edit) {
  fs::create_directories(dst);
  fs::copy(src, dst, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  Layout l = Read(src);
  auto man = nlohmann::json::parse(*ReadFile(src + "/blobs/sha256/" + l.manifest.substr(7)));
  auto cfg = nlohmann::json::parse(*ReadFile(src + "/blobs/sha256/" + l.config.substr(7)));
  edit(cfg);
  WriteLayout(dst, cfg, man["layers"]);
}

void TestImages::MakeBig(const std::string& dst, int mb) {
  TempDir work;
  fs::create_directories(work / "root/data");
  std::string out;
  RunTool({"sh", "-c",
           "head -c " + std::to_string(mb) + "M /dev/urandom > '" + work.path() +
               "/root/data/blob' && tar -C '" + work.path() + "/root' -cf '" + work.path() +
               "/layer.tar' . && gzip -1 -c '" + work.path() + "/layer.tar' > '" + work.path() +
               "/layer.tar.gz'"},
          &out);
  std::string tar = *ReadFile(work / "layer.tar");
  std::string gz = *ReadFile(work / "layer.tar.gz");
  std::string layer_digest = AddBlob(dst, gz);
  nlohmann::json cfg = {
      {"architecture", "amd64"},
      {"os", "linux"},
      {"config", {{"Cmd", {"/data/blob"}}}},
      {"rootfs", {{"type", "layers"}, {"diff_ids", {image::DigestOf(tar).String()}}}}};
  WriteLayout(dst, cfg,
              {{{"mediaType", "application/vnd.oci.image.layer.v1.tar+gzip"},
                {"digest", layer_digest},
                {"size", gz.size()}}});
}

void ImageServiceTest::SetUp() {
  BERTH_REQUIRE_ROOT();
  std::string missing;
  if (!RegistryToolsAvailable(&missing)) {
    if (RunningInCi()) FAIL() << "missing " << missing;
    GTEST_SKIP() << "missing " << missing;
  }
  ASSERT_TRUE(TestImages::Get().ok()) << TestImages::Get().error();
  snapshotter_ = Env("BERTH_IMAGE_TEST_SNAPSHOTTER", GetParam());
  plugin_dir_ = Env("BERTH_IMAGE_TEST_PLUGIN_DIR", BERTH_PLUGIN_BUILD_DIR);
  config_ = {{"snapshotter", snapshotter_}};
  if (snapshotter_ == "tmpdir") {
    config_["plugins"] = {{"tmpdir", {{"root", dir_ / "tmpdir-snapshots"}}}};
  }
}

void ImageServiceTest::TearDown() {
  StopBerthd();
  EXPECT_EQ(LeftoverMounts(), "");
}

std::unique_ptr<RegistryServer> ImageServiceTest::StartRegistry(RegistryOptions o) {
  if (o.storage_dir.empty()) o.storage_dir = dir_ / "registry";
  auto r = std::make_unique<RegistryServer>(o);
  berth::Status s = r->Start();
  EXPECT_TRUE(s.ok()) << s.ToString();
  return s.ok() ? std::move(r) : nullptr;
}

std::string ImageServiceTest::Push(const RegistryServer& reg, const std::string& layout_dir,
                                   const std::string& repo, const std::string& tag,
                                   image::registry::TlsSettings tls, const std::string& index_tag) {
  PushTarget t{reg.url(), repo, tag, index_tag, "", tls};
  auto d = PushOciLayout(layout_dir, t);
  EXPECT_TRUE(d.ok()) << d.status().ToString() << "\n" << reg.Log();
  return d.ok() ? *d : "";
}

bool ImageServiceTest::StartBerthd(const nlohmann::json& extra) {
  nlohmann::json cfg = config_;
  cfg.merge_patch(extra);
  std::string path = dir_ / "berthd.json";
  std::ofstream(path) << cfg.dump();
  berthd_ =
      std::make_unique<BerthdProcess>(std::vector<std::string>{"--config", path}, plugin_dir_);
  if (!berthd_->Start(20000)) {
    ADD_FAILURE() << "berthd did not start:\n" << berthd_->Stderr();
    return false;
  }
  channel_ = grpc::CreateChannel(berthd_->endpoint(), grpc::InsecureChannelCredentials());
  images_ = runtime::v1::ImageService::NewStub(channel_);
  berth_images_ = berth::v1::Images::NewStub(channel_);
  // The snapshotter under test must be loaded, or every pull fails for the wrong reason.
  auto intro = berth::v1::Introspection::NewStub(channel_);
  grpc::ClientContext ctx;
  berth::v1::ListPluginsRequest req;
  berth::v1::ListPluginsResponse resp;
  grpc::Status s = intro->ListPlugins(&ctx, req, &resp);
  if (!s.ok()) {
    ADD_FAILURE() << "ListPlugins: " << s.error_message();
    return false;
  }
  for (const auto& p : resp.plugins()) {
    if (p.type() == BERTH_PLUGIN_TYPE_SNAPSHOTTER && p.name() == snapshotter_ &&
        p.status() == "ok") {
      return true;
    }
  }
  ADD_FAILURE() << "snapshotter plugin \"" << snapshotter_ << "\" is not loaded from "
                << plugin_dir_;
  return false;
}

bool ImageServiceTest::RestartBerthd(int sig) {
  berthd_->Stop(sig);
  if (!berthd_->Start(20000)) {
    ADD_FAILURE() << "berthd did not restart:\n" << berthd_->Stderr();
    return false;
  }
  return true;
}

void ImageServiceTest::StopBerthd() {
  if (berthd_) berthd_->Stop(SIGTERM);
}

namespace {
template <typename T>
void Deadline(T& ctx, int seconds = 120) {
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
}
}  // namespace

grpc::Status ImageServiceTest::Pull(const std::string& ref, std::string* id,
                                    const runtime::v1::AuthConfig& auth) {
  grpc::ClientContext ctx;
  Deadline(ctx);
  runtime::v1::PullImageRequest req;
  req.mutable_image()->set_image(ref);
  *req.mutable_auth() = auth;
  runtime::v1::PullImageResponse resp;
  grpc::Status s = images_->PullImage(&ctx, req, &resp);
  if (id) *id = resp.image_ref();
  return s;
}

std::vector<runtime::v1::Image> ImageServiceTest::List(const std::string& filter) {
  grpc::ClientContext ctx;
  Deadline(ctx);
  runtime::v1::ListImagesRequest req;
  if (!filter.empty()) req.mutable_filter()->mutable_image()->set_image(filter);
  runtime::v1::ListImagesResponse resp;
  grpc::Status s = images_->ListImages(&ctx, req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return {resp.images().begin(), resp.images().end()};
}

runtime::v1::Image ImageServiceTest::Status(const std::string& ref, std::string* verbose_info) {
  grpc::ClientContext ctx;
  Deadline(ctx);
  runtime::v1::ImageStatusRequest req;
  req.mutable_image()->set_image(ref);
  req.set_verbose(verbose_info != nullptr);
  runtime::v1::ImageStatusResponse resp;
  grpc::Status s = images_->ImageStatus(&ctx, req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  if (verbose_info && resp.info().count("info")) *verbose_info = resp.info().at("info");
  return resp.image();
}

grpc::Status ImageServiceTest::Remove(const std::string& ref) {
  grpc::ClientContext ctx;
  Deadline(ctx);
  runtime::v1::RemoveImageRequest req;
  req.mutable_image()->set_image(ref);
  runtime::v1::RemoveImageResponse resp;
  return images_->RemoveImage(&ctx, req, &resp);
}

runtime::v1::ImageFsInfoResponse ImageServiceTest::FsInfo() {
  grpc::ClientContext ctx;
  Deadline(ctx);
  runtime::v1::ImageFsInfoRequest req;
  runtime::v1::ImageFsInfoResponse resp;
  grpc::Status s = images_->ImageFsInfo(&ctx, req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return resp;
}

grpc::Status ImageServiceTest::Import(const std::string& path, const std::string& name,
                                      berth::v1::ImportImageResponse* resp) {
  grpc::ClientContext ctx;
  Deadline(ctx);
  berth::v1::ImportImageRequest req;
  req.set_path(path);
  req.set_name(name);
  return berth_images_->Import(&ctx, req, resp);
}

size_t ImageServiceTest::BlobCount() const {
  size_t n = 0;
  for (auto& e : fs::directory_iterator(root() + "/content/blobs/sha256")) n += e.is_regular_file();
  return n;
}

size_t ImageServiceTest::IngestCount() const {
  size_t n = 0;
  for ([[maybe_unused]] auto& e : fs::directory_iterator(root() + "/content/ingest")) ++n;
  return n;
}

std::vector<std::string> ImageServiceTest::SnapshotsOffline() {
  std::vector<std::string> out;
  nlohmann::json plugins = config_.value("plugins", nlohmann::json::object());
  PluginHost host(Logger(LogLevel::kError), plugins, berthd_->root(), dir_ / "offline-state");
  host.LoadAll({plugin_dir_});
  const PluginHandle* h = host.Find(BERTH_PLUGIN_TYPE_SNAPSHOTTER, snapshotter_);
  if (!h) {
    ADD_FAILURE() << "cannot load snapshotter " << snapshotter_;
    return out;
  }
  image::SnapshotterClient snap(h, snapshotter_);
  auto all = snap.Walk();
  EXPECT_TRUE(all.ok()) << all.status().ToString();
  if (all.ok()) {
    for (const auto& s : *all) out.push_back(s.name());
  }
  return out;
}

void ImageServiceTest::WithRootfs(const std::string& chain_id,
                                  const std::function<void(const std::string&)>& check) {
  nlohmann::json plugins = config_.value("plugins", nlohmann::json::object());
  PluginHost host(Logger(LogLevel::kError), plugins, berthd_->root(), dir_ / "offline-state");
  host.LoadAll({plugin_dir_});
  const PluginHandle* h = host.Find(BERTH_PLUGIN_TYPE_SNAPSHOTTER, snapshotter_);
  ASSERT_TRUE(h) << "cannot load snapshotter " << snapshotter_;
  plugin::v1::ViewSnapshotRequest req;
  req.set_key("test-view");
  req.set_parent(chain_id);
  plugin::v1::ViewSnapshotResponse resp;
  berth::Status st = h->Invoke("View", req, &resp);
  ASSERT_TRUE(st.ok()) << st.ToString();
  std::string target = dir_ / "rootfs";
  fs::create_directories(target);
  bool mounted = true;
  for (const auto& m : resp.mounts()) {
    unsigned long flags = 0;
    std::string data;
    for (const std::string& o : m.options()) {
      if (o == "ro")
        flags |= MS_RDONLY;
      else if (o == "rbind")
        flags |= MS_BIND | MS_REC;
      else if (o == "bind")
        flags |= MS_BIND;
      else if (o != "rw")
        data += (data.empty() ? "" : ",") + o;
    }
    if (m.type() == "bind") flags |= MS_BIND;
    if (::mount(m.source().c_str(), target.c_str(), m.type().c_str(), flags,
                data.empty() ? nullptr : data.c_str()) != 0) {
      ADD_FAILURE() << "mount " << m.type() << " " << m.source() << ": " << strerror(errno);
      mounted = false;
    }
  }
  if (mounted) check(target);
  while (::umount2(target.c_str(), 0) == 0) {
  }
  plugin::v1::RemoveSnapshotRequest rm;
  rm.set_key("test-view");
  plugin::v1::RemoveSnapshotResponse rm_resp;
  EXPECT_TRUE(h->Invoke("Remove", rm, &rm_resp).ok());
}

std::string ImageServiceTest::LeftoverMounts() const {
  auto mounts = ReadFile("/proc/mounts");
  std::string out;
  if (!mounts.ok()) return out;
  size_t pos = 0;
  while (pos < mounts->size()) {
    size_t nl = mounts->find('\n', pos);
    if (nl == std::string::npos) nl = mounts->size();
    std::string line = mounts->substr(pos, nl - pos);
    if (line.find(dir_.path()) != std::string::npos ||
        (berthd_ && line.find(berthd_->root()) != std::string::npos) ||
        (berthd_ && line.find(berthd_->state()) != std::string::npos)) {
      out += line + "\n";
    }
    pos = nl + 1;
  }
  return out;
}

}  // namespace berth::testing
