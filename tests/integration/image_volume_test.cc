// CRI image volumes (KEP-4639) end to end (root): a real berthd with the overlay snapshotter and
// the native runtime, the project's busybox and layered test images plus a test-made "links"
// image whose symlinks point inside and outside it, host-network pods. A container sees the
// image read-only at the mount path (EROFS on write, its binaries run), image_sub_path picks a
// directory (through a symlink that stays inside), escapes and missing paths are refused with
// nothing left behind (snapshots, mounts, bundles), an unpulled image is NOT_FOUND, the view
// keeps a removed image's layers, and RemoveContainer (also after a berthd SIGKILL) removes
// the mounts and the view snapshot; a create interrupted by a crash is rolled back with them.

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api/cri.h"
#include "common/fs.h"
#include "cri/image/digest.h"
#include "images.grpc.pb.h"
#include "tests/integration/image_service_fixture.h"
#include "tests/support/berthd_process.h"
#include "tests/support/test_env.h"

namespace berth::testing {
namespace {

namespace cri = runtime::v1;

std::string AddBlob(const std::string& layout, const std::string& data) {
  std::string d = image::DigestOf(data).String();
  fs::create_directories(layout + "/blobs/sha256");
  std::ofstream(layout + "/blobs/sha256/" + d.substr(7), std::ios::binary) << data;
  return d;
}

// An OCI layout of one uncompressed layer holding `tree` (a directory), no command: a pure data
// image, as image volumes typically are.
void MakeDataImage(const std::string& tree, const std::string& dst) {
  TempDir work;
  CommandResult tar =
      RunCommand({"/usr/bin/tar", "--numeric-owner", "-C", tree, "-cf", work / "l.tar", "."});
  ASSERT_EQ(tar.exit_code, 0) << tar.err;
  std::string layer = *ReadFile(work / "l.tar");
  std::string layer_digest = AddBlob(dst, layer);
  nlohmann::json cfg = {{"architecture", "amd64"},
                        {"os", "linux"},
                        {"config", nlohmann::json::object()},
                        {"rootfs", {{"type", "layers"}, {"diff_ids", {layer_digest}}}}};
  std::string c = cfg.dump();
  std::string cfg_digest = AddBlob(dst, c);
  nlohmann::json man = {{"schemaVersion", 2},
                        {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                        {"config",
                         {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                          {"digest", cfg_digest},
                          {"size", c.size()}}},
                        {"layers",
                         {{{"mediaType", "application/vnd.oci.image.layer.v1.tar"},
                           {"digest", layer_digest},
                           {"size", layer.size()}}}}};
  std::string m = man.dump();
  std::string m_digest = AddBlob(dst, m);
  nlohmann::json idx = {{"schemaVersion", 2},
                        {"manifests",
                         {{{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                           {"digest", m_digest},
                           {"size", m.size()}}}}};
  std::ofstream(dst + "/index.json") << idx.dump();
  std::ofstream(dst + "/oci-layout") << R"({"imageLayoutVersion":"1.0.0"})";
}

class ImageVolumeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    BERTH_REQUIRE_ROOT();
    ASSERT_TRUE(TestImages::Get().ok()) << TestImages::Get().error();
    // The links image: /vol/dir/hello, /vol/file and symlinks inside and out of the image.
    std::string tree = dir_ / "links-tree";
    fs::create_directories(tree + "/vol/dir");
    std::ofstream(tree + "/vol/dir/hello") << "hello from the links image\n";
    std::ofstream(tree + "/vol/file") << "a file\n";
    fs::create_symlink("dir", tree + "/vol/inside");
    fs::create_symlink("../../../../../../../etc", tree + "/vol/escape");
    fs::create_symlink("/etc", tree + "/vol/absolute");
    MakeDataImage(tree, dir_ / "links");
    ASSERT_FALSE(HasFailure());

    nlohmann::json cfg = {
        {"snapshotter", "overlay"},
        {"plugins", {{"io.berth.runtime.v1/native", {{"state_dir", shim_dir_.path()}}}}}};
    std::ofstream(dir_ / "berthd.json") << cfg.dump();
    berthd_ = std::make_unique<BerthdProcess>(
        std::vector<std::string>{"--config", dir_ / "berthd.json"}, BERTH_PLUGIN_BUILD_DIR);
    ASSERT_TRUE(berthd_->Start(20000)) << berthd_->Stderr();
    Connect();
    ASSERT_FALSE(
        Import(TestImages::Get().path("busybox"), "docker.io/library/busybox:test").empty());
    layered_ = Import(TestImages::Get().path("layered"), "docker.io/library/layered:test");
    links_ = Import(dir_ / "links", "docker.io/library/links:test");
    ASSERT_FALSE(layered_.empty());
    ASSERT_FALSE(links_.empty());
    pod_ = RunPod("iv-pod");
    ASSERT_FALSE(pod_.empty());
  }

  void TearDown() override {
    if (!berthd_) return;
    if (rt_) {
      for (const auto& c : ListContainers()) Remove(c.id());
      grpc::ClientContext ctx;
      cri::RemovePodSandboxRequest req;
      cri::RemovePodSandboxResponse resp;
      req.set_pod_sandbox_id(pod_);
      (void)rt_->RemovePodSandbox(&ctx, req, &resp);
      // Nothing of any image volume is left.
      EXPECT_EQ(VolumeSnapshots(), std::set<std::string>{});
      EXPECT_EQ(VolumeMounts(), "");
    }
    if (HasFailure()) std::cerr << "berthd stderr:\n" << berthd_->Stderr() << "\n";
    berthd_->Stop(SIGTERM);
  }

  void Connect() {
    auto ch = grpc::CreateChannel(berthd_->endpoint(), grpc::InsecureChannelCredentials());
    rt_ = cri::RuntimeService::NewStub(ch);
    img_ = cri::ImageService::NewStub(ch);
    images_ = berth::v1::Images::NewStub(ch);
  }

  std::string Import(const std::string& path, const std::string& name) {
    grpc::ClientContext ctx;
    berth::v1::ImportImageRequest req;
    berth::v1::ImportImageResponse resp;
    req.set_path(path);
    req.set_name(name);
    grpc::Status s = images_->Import(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return s.ok() && resp.images_size() ? resp.images(0).id() : "";
  }

  std::string RunPod(const std::string& name) {
    cri::RunPodSandboxRequest req;
    auto* c = req.mutable_config();
    c->mutable_metadata()->set_name(name);
    c->mutable_metadata()->set_uid(name + "-uid");
    c->mutable_metadata()->set_namespace_("test");
    auto* ns = c->mutable_linux()->mutable_security_context()->mutable_namespace_options();
    ns->set_network(cri::NODE);
    ns->set_pid(cri::CONTAINER);
    grpc::ClientContext ctx;
    cri::RunPodSandboxResponse resp;
    grpc::Status s = rt_->RunPodSandbox(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message() << "\n" << berthd_->Stderr();
    return resp.pod_sandbox_id();
  }

  // A busybox container that sleeps, with one image volume at /vol (the kubelet sends the image
  // id it pulled, and readonly=true).
  static cri::ContainerConfig Config(const std::string& name, const std::string& image,
                                     const std::string& sub_path = "") {
    cri::ContainerConfig c;
    c.mutable_metadata()->set_name(name);
    c.mutable_image()->set_image("docker.io/library/busybox:test");
    c.add_command("sleep");
    c.add_command("3600");
    auto* m = c.add_mounts();
    m->set_container_path("/vol");
    m->mutable_image()->set_image(image);
    m->set_readonly(true);
    m->set_image_sub_path(sub_path);
    return c;
  }

  grpc::Status Create(const cri::ContainerConfig& config, std::string* id) {
    grpc::ClientContext ctx;
    cri::CreateContainerRequest req;
    cri::CreateContainerResponse resp;
    req.set_pod_sandbox_id(pod_);
    *req.mutable_config() = config;
    grpc::Status s = rt_->CreateContainer(&ctx, req, &resp);
    if (id) *id = resp.container_id();
    return s;
  }

  // Creates and starts; fails the test when either fails.
  std::string Run(const cri::ContainerConfig& config) {
    std::string id;
    grpc::Status s = Create(config, &id);
    EXPECT_TRUE(s.ok()) << s.error_message();
    if (!s.ok()) return "";
    grpc::ClientContext ctx;
    cri::StartContainerRequest req;
    cri::StartContainerResponse resp;
    req.set_container_id(id);
    s = rt_->StartContainer(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return id;
  }

  void Remove(const std::string& id) {
    grpc::ClientContext ctx;
    cri::RemoveContainerRequest req;
    cri::RemoveContainerResponse resp;
    req.set_container_id(id);
    grpc::Status s = rt_->RemoveContainer(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
  }

  std::vector<cri::Container> ListContainers() {
    grpc::ClientContext ctx;
    cri::ListContainersRequest req;
    cri::ListContainersResponse resp;
    EXPECT_TRUE(rt_->ListContainers(&ctx, req, &resp).ok());
    return {resp.containers().begin(), resp.containers().end()};
  }

  // {exit code, stdout + stderr} of an exec.
  std::pair<int, std::string> Exec(const std::string& id, std::vector<std::string> cmd) {
    grpc::ClientContext ctx;
    cri::ExecSyncRequest req;
    cri::ExecSyncResponse resp;
    req.set_container_id(id);
    for (auto& c : cmd) req.add_cmd(c);
    req.set_timeout(10);
    grpc::Status s = rt_->ExecSync(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return {resp.exit_code(), resp.stdout() + resp.stderr()};
  }

  // Every snapshot of the overlay snapshotter (its metadata document, rewritten atomically).
  std::set<std::string> Snapshots() const {
    std::set<std::string> out;
    Result<std::string> text =
        ReadFile(berthd_->root() + "/plugins/io.berth.snapshotter.v1/overlay/metadata.json");
    if (!text.ok()) return out;
    nlohmann::json doc = nlohmann::json::parse(*text);  // a named value: the loop reads into it
    for (const auto& s : doc["snapshots"]) out.insert(s["name"].get<std::string>());
    return out;
  }
  std::set<std::string> VolumeSnapshots() const {
    std::set<std::string> out;
    for (const std::string& s : Snapshots())
      if (s.find("-imgvol-") != std::string::npos) out.insert(s);
    return out;
  }
  // berthd's image volume mounts (lines of /proc/self/mountinfo: berthd runs in our namespace).
  std::string VolumeMounts() const {
    std::string out;
    std::ifstream in("/proc/self/mountinfo");
    for (std::string line; std::getline(in, line);)
      if (line.find(berthd_->state()) != std::string::npos &&
          line.find("/image-volumes/") != std::string::npos)
        out += line + "\n";
    return out;
  }
  size_t Bundles() const {
    std::error_code ec;
    size_t n = 0;
    for ([[maybe_unused]] auto& e : fs::directory_iterator(berthd_->state() + "/containers", ec))
      ++n;
    return n;
  }
  // A failed create must leave exactly what was there before.
  void ExpectRefused(const cri::ContainerConfig& config, grpc::StatusCode code,
                     const std::string& message_part) {
    std::set<std::string> snaps = Snapshots();
    std::string mounts = VolumeMounts();
    size_t bundles = Bundles(), containers = ListContainers().size();
    std::string id;
    grpc::Status s = Create(config, &id);
    EXPECT_EQ(s.error_code(), code) << s.error_message();
    EXPECT_NE(s.error_message().find(message_part), std::string::npos) << s.error_message();
    EXPECT_NE(s.error_message().find("ImageVolumeMountFailed"), std::string::npos)
        << s.error_message();
    EXPECT_EQ(Snapshots(), snaps);
    EXPECT_EQ(VolumeMounts(), mounts);
    EXPECT_EQ(Bundles(), bundles);
    EXPECT_EQ(ListContainers().size(), containers);
  }

  TempDir dir_, shim_dir_;
  std::unique_ptr<BerthdProcess> berthd_;
  std::unique_ptr<cri::RuntimeService::Stub> rt_;
  std::unique_ptr<cri::ImageService::Stub> img_;
  std::unique_ptr<berth::v1::Images::Stub> images_;
  std::string layered_, links_, pod_;
};

TEST_F(ImageVolumeTest, ImageIsMountedReadOnlyAndRemovedWithTheContainer) {
  std::string id = Run(Config("reader", layered_));
  ASSERT_FALSE(id.empty());
  // The layered image's merged filesystem: whiteouts, opaque dir and links as unpacked.
  EXPECT_EQ(Exec(id, {"cat", "/vol/data/keep/file"}), std::make_pair(0, std::string("kept\n")));
  EXPECT_EQ(Exec(id, {"cat", "/vol/data/symlink"}), std::make_pair(0, std::string("kept\n")));
  EXPECT_EQ(Exec(id, {"cat", "/vol/data/zstd-file"}).second, "from zstd layer\n");
  EXPECT_NE(Exec(id, {"ls", "/vol/data/gone"}).first, 0);
  EXPECT_NE(Exec(id, {"cat", "/vol/data/opaque/old"}).first, 0);
  // Read-only, whoever writes (root in the container); binaries of the image run (no noexec).
  auto [rc, out] = Exec(id, {"touch", "/vol/data/new"});
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("Read-only file system"), std::string::npos) << out;
  EXPECT_NE(Exec(id, {"sh", "-c", "echo x > /vol/data/keep/file"}).first, 0);
  EXPECT_EQ(Exec(id, {"/vol/bin/busybox", "echo", "ran"}), std::make_pair(0, std::string("ran\n")));
  std::string mi = Exec(id, {"cat", "/proc/self/mountinfo"}).second;
  bool ro = false;
  std::istringstream lines(mi);
  for (std::string l; std::getline(lines, l);)
    if (l.find(" /vol ") != std::string::npos) ro = l.find(" ro,") != std::string::npos;
  EXPECT_TRUE(ro) << mi;

  // On the host: one view snapshot and one mount for it, named after the container.
  EXPECT_EQ(VolumeSnapshots(), std::set<std::string>{"ctr-" + id + "-imgvol-0"});
  EXPECT_NE(VolumeMounts().find("/containers/" + id + "/image-volumes/0 "), std::string::npos)
      << VolumeMounts();
  Remove(id);
  EXPECT_EQ(VolumeSnapshots(), std::set<std::string>{});
  EXPECT_EQ(VolumeMounts(), "");
  EXPECT_FALSE(fs::exists(berthd_->state() + "/containers/" + id));
  Remove(id);  // idempotent
}

TEST_F(ImageVolumeTest, SubPathSelectsADirectory) {
  std::string a = Run(Config("sub", layered_, "data/keep"));
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(Exec(a, {"cat", "/vol/file"}), std::make_pair(0, std::string("kept\n")));
  EXPECT_NE(Exec(a, {"ls", "/vol/data"}).first, 0);
  EXPECT_NE(Exec(a, {"touch", "/vol/x"}).first, 0);
  // Through a symlink that stays inside the image; by the image's tag as well as its id.
  cri::ContainerConfig c = Config("via-link", "docker.io/library/links:test", "vol/inside");
  std::string b = Run(c);
  ASSERT_FALSE(b.empty());
  EXPECT_EQ(Exec(b, {"cat", "/vol/hello"}).second, "hello from the links image\n");
  // Two image volumes in one container, each its own view.
  c = Config("two", links_, "vol");
  auto* m = c.add_mounts();
  m->set_container_path("/vol2");
  m->mutable_image()->set_image_ref(layered_);  // the resolved id alone names the image too
  m->set_readonly(true);
  std::string d = Run(c);
  ASSERT_FALSE(d.empty());
  EXPECT_EQ(Exec(d, {"cat", "/vol/dir/hello", "/vol2/data/keep/file"}).second,
            "hello from the links image\nkept\n");
  EXPECT_EQ(VolumeSnapshots(),
            (std::set<std::string>{"ctr-" + a + "-imgvol-0", "ctr-" + b + "-imgvol-0",
                                   "ctr-" + d + "-imgvol-0", "ctr-" + d + "-imgvol-1"}));
  // The runtime bound a path that holds no symlink of the image.
  EXPECT_NE(VolumeMounts().find("/containers/" + b + "/image-volumes/0-sub "), std::string::npos)
      << VolumeMounts();
  for (const std::string& id : {a, b, d}) Remove(id);
  EXPECT_EQ(VolumeSnapshots(), std::set<std::string>{});
  EXPECT_EQ(VolumeMounts(), "");
}

TEST_F(ImageVolumeTest, EscapesAndBadSubPathsAreRefusedLeavingNothing) {
  for (const char* sub : {"vol/escape", "vol/absolute", "vol/escape/passwd"}) {
    SCOPED_TRACE(sub);
    ExpectRefused(Config("esc", links_, sub), grpc::StatusCode::INVALID_ARGUMENT,
                  "escapes the image");
  }
  for (const char* sub : {"../etc", "vol/../..", "/etc"}) {
    SCOPED_TRACE(sub);
    std::string id;
    grpc::Status s = Create(Config("dots", links_, sub), &id);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
    EXPECT_NE(s.error_message().find("image_sub_path"), std::string::npos) << s.error_message();
  }
  ExpectRefused(Config("missing", links_, "vol/missing"), grpc::StatusCode::NOT_FOUND,
                "does not exist in the image");
  ExpectRefused(Config("file", links_, "vol/file"), grpc::StatusCode::INVALID_ARGUMENT,
                "not a directory");
  // The name was not taken by the refused creates.
  std::string id = Run(Config("esc", links_, "vol/dir"));
  EXPECT_FALSE(id.empty());
}

TEST_F(ImageVolumeTest, UnpulledImageIsNotFound) {
  ExpectRefused(Config("nope", "docker.io/library/not-pulled:1"), grpc::StatusCode::NOT_FOUND,
                "pull it first");
  ExpectRefused(Config("nope", "sha256:" + std::string(64, '0')), grpc::StatusCode::NOT_FOUND,
                "not found");
  // host_path and image together.
  cri::ContainerConfig c = Config("both", layered_);
  c.mutable_mounts(0)->set_host_path("/tmp");
  std::string id;
  EXPECT_EQ(Create(c, &id).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

// The view is a child of the image's layers: removing the image (which containerd allows too)
// does not take the volume's content away while a container uses it.
TEST_F(ImageVolumeTest, VolumeKeepsARemovedImagesLayers) {
  std::string id = Run(Config("keeper", links_));
  ASSERT_FALSE(id.empty());
  std::set<std::string> before = Snapshots();
  grpc::ClientContext ctx;
  cri::RemoveImageRequest req;
  cri::RemoveImageResponse resp;
  req.mutable_image()->set_image(links_);
  ASSERT_TRUE(img_->RemoveImage(&ctx, req, &resp).ok());
  // RemoveImage collected garbage, but the links image's layer is the view's parent.
  EXPECT_EQ(Snapshots(), before);
  EXPECT_EQ(Exec(id, {"cat", "/vol/vol/dir/hello"}).second, "hello from the links image\n");
  Remove(id);
  EXPECT_EQ(VolumeSnapshots(), std::set<std::string>{});
  // Without an image, a new image volume of it is NOT_FOUND.
  ExpectRefused(Config("late", links_), grpc::StatusCode::NOT_FOUND, "pull it first");
}

// After a SIGKILL of berthd the container keeps its volume, and RemoveContainer of the
// restarted berthd still removes the mount and the view.
TEST_F(ImageVolumeTest, RemoveAfterBerthdRestart) {
  std::string id = Run(Config("survivor", layered_, "data"));
  ASSERT_FALSE(id.empty());
  berthd_->Stop(SIGKILL);
  ASSERT_TRUE(berthd_->Start(20000)) << berthd_->Stderr();
  Connect();
  EXPECT_EQ(Exec(id, {"cat", "/vol/keep/file"}).second, "kept\n");
  Remove(id);
  EXPECT_EQ(VolumeSnapshots(), std::set<std::string>{});
  EXPECT_EQ(VolumeMounts(), "");
}

// A create interrupted by a crash after its image volumes were made (the record still says
// "creating": rewritten so while berthd is down) is rolled back at the next start: the task,
// the volume's mount and its view go.
TEST_F(ImageVolumeTest, InterruptedCreateIsRolledBackWithItsVolumes) {
  std::string id;
  grpc::Status s = Create(Config("interrupted", layered_, "data"), &id);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(VolumeSnapshots(), std::set<std::string>{"ctr-" + id + "-imgvol-0"});
  ASSERT_NE(VolumeMounts(), "");
  berthd_->Stop(SIGKILL);
  std::string record = berthd_->root() + "/containers/" + id + "/record.json";
  nlohmann::json rec = nlohmann::json::parse(*ReadFile(record));
  rec["phase"] = "creating";
  ASSERT_TRUE(AtomicWriteFile(record, rec.dump(), 0600).ok());
  ASSERT_TRUE(berthd_->Start(20000)) << berthd_->Stderr();
  Connect();
  EXPECT_TRUE(ListContainers().empty());
  EXPECT_EQ(VolumeSnapshots(), std::set<std::string>{});
  EXPECT_EQ(VolumeMounts(), "");
  EXPECT_FALSE(fs::exists(berthd_->state() + "/containers/" + id));
  // The name is free again.
  EXPECT_FALSE(Run(Config("interrupted", layered_)).empty());
}

}  // namespace
}  // namespace berth::testing
