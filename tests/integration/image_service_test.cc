// berthd's image service end to end: a real berthd with a real snapshotter plugin, a real
// docker-registry on loopback, CRI PullImage/ListImages/ImageStatus/RemoveImage/ImageFsInfo and
// berth.v1.Images/Import, in every reference form, with basic auth, TLS and a docker.io mirror.

#include "tests/integration/image_service_fixture.h"

#include <sys/stat.h>

#include <thread>

#include "cri/image/registry/auth.h"
#include "tests/support/registry_proxy.h"

namespace berth::testing {
namespace {

using ::testing::Values;

std::vector<std::string> Tags(const runtime::v1::Image& i) {
  return {i.repo_tags().begin(), i.repo_tags().end()};
}
std::vector<std::string> Digests(const runtime::v1::Image& i) {
  return {i.repo_digests().begin(), i.repo_digests().end()};
}

// Run with both snapshotters; the rest with overlay only (same code above the snapshotter).
class ImageServiceBothTest : public ImageServiceTest {};

TEST_P(ImageServiceBothTest, PullListStatusRemoveInEveryReferenceForm) {
  auto reg = StartRegistry();
  ASSERT_TRUE(reg);
  // A busybox whose config names a user, so uid reporting is exercised.
  std::string user_layout = dir_ / "busybox-user";
  TestImages::Derive(TestImages::Get().path("busybox"), user_layout,
                     [](nlohmann::json& c) { c["config"]["User"] = "1000:1000"; });
  std::string named_layout = dir_ / "busybox-named";
  TestImages::Derive(TestImages::Get().path("busybox"), named_layout,
                     [](nlohmann::json& c) { c["config"]["User"] = "berth"; });
  TestImages::Layout l = TestImages::Read(user_layout);
  std::string digest = Push(*reg, user_layout, "test/busybox", "1");
  Push(*reg, named_layout, "test/named", "1");
  ASSERT_TRUE(StartBerthd());

  std::string name = reg->host() + "/test/busybox";
  std::string id;
  grpc::Status s = Pull(name + ":1", &id);
  ASSERT_TRUE(s.ok()) << s.error_message() << "\n" << berthd_->Stderr();
  EXPECT_EQ(id, l.config) << "image_ref is the image id (config digest)";

  auto images = List();
  ASSERT_EQ(images.size(), 1u);
  const runtime::v1::Image& img = images[0];
  EXPECT_EQ(img.id(), l.config);
  EXPECT_EQ(Tags(img), std::vector<std::string>{name + ":1"});
  EXPECT_EQ(Digests(img), std::vector<std::string>{name + "@" + digest});
  EXPECT_EQ(static_cast<int64_t>(img.size()), l.Size());
  ASSERT_TRUE(img.has_uid());
  EXPECT_EQ(img.uid().value(), 1000);
  EXPECT_EQ(img.username(), "");
  EXPECT_FALSE(img.pinned());

  // Every form finds it: tag, digest, tag@digest, id, id hex, short id.
  for (const std::string& ref : {name + ":1", name + "@" + digest, name + ":1@" + digest, l.config,
                                 l.config.substr(7), l.config.substr(7, 12)}) {
    runtime::v1::Image st = Status(ref);
    EXPECT_EQ(st.id(), l.config) << ref;
    auto filtered = List(ref);
    ASSERT_EQ(filtered.size(), 1u) << ref;
  }
  std::string info;
  runtime::v1::Image verbose = Status(l.config, &info);
  auto j = nlohmann::json::parse(info, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << info;
  EXPECT_EQ(j["imageSpec"]["config"]["User"], "1000:1000");
  EXPECT_TRUE(j["chainID"].is_string());
  EXPECT_EQ(j["snapshotter"], snapshotter());

  // Absent: no image, no error; a filter that matches nothing lists nothing.
  EXPECT_EQ(Status(reg->host() + "/test/absent:1").id(), "");
  EXPECT_TRUE(List(reg->host() + "/test/absent:1").empty());

  // Idempotent pulls, by digest and tag@digest too: still one image, all names merged.
  ASSERT_TRUE(Pull(name + ":1", &id).ok());
  EXPECT_EQ(id, l.config);
  ASSERT_TRUE(Pull(name + "@" + digest, &id).ok());
  EXPECT_EQ(id, l.config);
  ASSERT_TRUE(Pull(name + ":1@" + digest, &id).ok());
  EXPECT_EQ(List().size(), 1u);

  // A user given by name.
  ASSERT_TRUE(Pull(reg->host() + "/test/named:1").ok());
  runtime::v1::Image named = Status(reg->host() + "/test/named:1");
  EXPECT_EQ(named.username(), "berth");
  EXPECT_FALSE(named.has_uid());
  EXPECT_EQ(List().size(), 2u);

  // Remove by tag: the whole image goes (all its names) and its unshared content is collected.
  size_t blobs_before = BlobCount();
  ASSERT_TRUE(Remove(name + ":1").ok());
  EXPECT_EQ(Status(name + "@" + digest).id(), "");
  EXPECT_EQ(List().size(), 1u);
  EXPECT_FALSE(BlobExists(l.config));
  EXPECT_FALSE(BlobExists(l.manifest));
  EXPECT_TRUE(BlobExists(l.layers[0])) << "the layer is shared with test/named";
  EXPECT_LT(BlobCount(), blobs_before);
  EXPECT_TRUE(Remove(name + ":1").ok()) << "removing an absent image is OK";

  // Remove by id and by digest reference; then nothing is left at all.
  ASSERT_TRUE(Remove(named.id()).ok());
  ASSERT_TRUE(Pull(name + "@" + digest).ok());
  EXPECT_TRUE(Tags(Status(name + "@" + digest)).empty()) << "pulled by digest: no tag";
  ASSERT_TRUE(Remove(name + "@" + digest).ok());
  EXPECT_TRUE(List().empty());
  EXPECT_EQ(BlobCount(), 0u);
  EXPECT_EQ(IngestCount(), 0u);

  // Errors name the problem.
  s = Pull("Upper/Case");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("lowercase"), std::string::npos) << s.error_message();
  s = Pull(reg->host() + "/test/absent:1");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
  EXPECT_EQ(Remove("").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(List().empty());

  StopBerthd();
  EXPECT_TRUE(SnapshotsOffline().empty()) << "every snapshot was collected";
}

TEST_P(ImageServiceTest, TagMovesAndConcurrentPullsShareOneImage) {
  auto reg = StartRegistry();
  ASSERT_TRUE(reg);
  TestImages::Layout bb = TestImages::Read(TestImages::Get().path("busybox"));
  TestImages::Layout layered = TestImages::Read(TestImages::Get().path("layered"));
  Push(*reg, TestImages::Get().path("busybox"), "test/moving", "latest");
  ASSERT_TRUE(StartBerthd());
  std::string ref = reg->host() + "/test/moving";

  std::vector<std::thread> threads;
  std::vector<grpc::Status> results(4);
  std::vector<std::string> ids(4);
  for (int i = 0; i < 4; ++i) threads.emplace_back([&, i] { results[i] = Pull(ref, &ids[i]); });
  for (auto& t : threads) t.join();
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(results[i].ok()) << results[i].error_message();
    EXPECT_EQ(ids[i], bb.config);
  }
  EXPECT_EQ(List().size(), 1u);

  // The tag now points to another image: pulling it moves the tag; the old image stays untagged.
  Push(*reg, TestImages::Get().path("layered"), "test/moving", "latest");
  std::string id;
  ASSERT_TRUE(Pull(ref, &id).ok());
  EXPECT_EQ(id, layered.config);
  EXPECT_EQ(Tags(Status(ref + ":latest")), std::vector<std::string>{ref + ":latest"});
  EXPECT_EQ(Status(ref).id(), layered.config);
  EXPECT_TRUE(Tags(Status(bb.config)).empty());
  EXPECT_EQ(List().size(), 2u);

  // ImageFsInfo: the image filesystem is berthd's root, and its usage is real.
  auto fsinfo = FsInfo();
  ASSERT_EQ(fsinfo.image_filesystems_size(), 1);
  EXPECT_EQ(fsinfo.image_filesystems(0).fs_id().mountpoint(), root());
  uint64_t used = fsinfo.image_filesystems(0).used_bytes().value();
  EXPECT_GT(used, static_cast<uint64_t>(layered.Size()));
  EXPECT_GT(fsinfo.image_filesystems(0).inodes_used().value(), 10u);
  ASSERT_EQ(fsinfo.container_filesystems_size(), 1);
  ASSERT_TRUE(Remove(bb.config).ok());
  ASSERT_TRUE(Remove(layered.config).ok());
  auto after = FsInfo();
  EXPECT_LT(after.image_filesystems(0).used_bytes().value(), used);
}

// Watches one pull's progress through berth.v1.Images/WatchPull until the pull ends.
std::vector<berth::v1::PullProgress> WatchOnce(berth::v1::Images::Stub& images,
                                               const std::string& ref) {
  std::vector<berth::v1::PullProgress> seen;
  grpc::ClientContext ctx;
  berth::v1::WatchPullRequest req;
  req.set_image(ref);
  auto reader = images.WatchPull(&ctx, req);
  berth::v1::PullProgress p;
  while (reader->Read(&p)) seen.push_back(p);
  EXPECT_TRUE(reader->Finish().ok());
  return seen;
}

// Waits (up to 30 s) until the proxy holds a GET of its held blob.
bool WaitHolding(const RegistryProxy& proxy) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!proxy.holding()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

TEST_P(ImageServiceTest, WatchPullStreamsLayerProgressUntilThePullEnds) {
  auto reg = StartRegistry();
  ASSERT_TRUE(reg);
  std::string big = dir_ / "big";
  TestImages::MakeBig(big, 32);
  TestImages::Layout l = TestImages::Read(big);
  Push(*reg, big, "test/big", "1");
  // The layer's download is held until a watcher is attached, so the watcher cannot miss it.
  ProxyOptions po;
  po.upstream_port = reg->port();
  po.hold_blob = l.layers[0];
  RegistryProxy proxy(po);
  ASSERT_TRUE(StartBerthd());
  std::string ref = proxy.host() + "/test/big:1";

  // Nothing in flight: the stream ends at once, OK.
  EXPECT_TRUE(WatchOnce(*berth_images_, ref).empty());

  grpc::Status pulled;
  std::thread puller([&] { pulled = Pull(ref); });
  ASSERT_TRUE(WaitHolding(proxy));
  std::vector<berth::v1::PullProgress> seen;
  std::thread watcher([&] { seen = WatchOnce(*berth_images_, ref); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the watcher attaches
  proxy.Release();
  puller.join();
  watcher.join();
  ASSERT_TRUE(pulled.ok()) << pulled.error_message();
  ASSERT_FALSE(seen.empty());
  const berth::v1::PullProgress& last = seen.back();
  EXPECT_TRUE(last.done());
  EXPECT_EQ(last.error(), "");
  EXPECT_EQ(last.image_ref(), l.config);
  EXPECT_EQ(last.image(), ref);
  ASSERT_EQ(last.layers_size(), 1);
  EXPECT_EQ(last.layers(0).digest(), l.layers[0]);
  EXPECT_EQ(last.layers(0).size(), l.layer_sizes[0]);
  EXPECT_EQ(last.layers(0).state(), berth::v1::LayerProgress::STATE_DONE);
}

// Download and unpack overlap: while the top layer is still downloading, the layers below it
// are already unpacked and committed.
TEST_P(ImageServiceTest, LowerLayersUnpackWhileTheTopLayerDownloads) {
  auto reg = StartRegistry();
  ASSERT_TRUE(reg);
  std::string layered = TestImages::Get().path("layered");
  TestImages::Layout l = TestImages::Read(layered);
  ASSERT_GE(l.layers.size(), 3u);
  Push(*reg, layered, "test/layered", "1");
  ProxyOptions po;
  po.upstream_port = reg->port();
  po.hold_blob = l.layers.back();
  RegistryProxy proxy(po);
  ASSERT_TRUE(StartBerthd());
  std::string ref = proxy.host() + "/test/layered:1";

  grpc::Status pulled;
  std::thread puller([&] { pulled = Pull(ref); });
  ASSERT_TRUE(WaitHolding(proxy));
  // Poll the progress until every layer below the held one is unpacked (DONE).
  bool lower_done = false;
  berth::v1::PullProgress last;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!lower_done && std::chrono::steady_clock::now() < deadline) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(300));
    berth::v1::WatchPullRequest req;
    req.set_image(ref);
    auto reader = berth_images_->WatchPull(&ctx, req);
    berth::v1::PullProgress p;
    while (!lower_done && reader->Read(&p)) {
      last = p;
      if (p.layers_size() != static_cast<int>(l.layers.size())) continue;
      lower_done = true;
      for (size_t i = 0; i + 1 < l.layers.size(); ++i) {
        lower_done = lower_done && p.layers(i).state() == berth::v1::LayerProgress::STATE_DONE;
      }
    }
    ctx.TryCancel();
    (void)reader->Finish();
  }
  EXPECT_TRUE(lower_done) << "lower layers not unpacked while the top layer downloads; last "
                          << "progress: " << last.ShortDebugString();
  if (last.layers_size() == static_cast<int>(l.layers.size())) {
    EXPECT_NE(last.layers(last.layers_size() - 1).state(), berth::v1::LayerProgress::STATE_DONE);
  }
  proxy.Release();
  puller.join();
  ASSERT_TRUE(pulled.ok()) << pulled.error_message();
}

TEST_P(ImageServiceTest, ImageFsInfoGrowsRightAfterAPull) {
  auto reg = StartRegistry();
  ASSERT_TRUE(reg);
  Push(*reg, TestImages::Get().path("busybox"), "test/busybox", "1");
  ASSERT_TRUE(StartBerthd());
  auto before = FsInfo();
  ASSERT_TRUE(Pull(reg->host() + "/test/busybox:1").ok());
  auto after = FsInfo();
  // busybox-static alone is over 1 MB, stored compressed and unpacked.
  EXPECT_GT(after.image_filesystems(0).used_bytes().value(),
            before.image_filesystems(0).used_bytes().value() + 1'000'000);
  EXPECT_GT(after.image_filesystems(0).inodes_used().value(),
            before.image_filesystems(0).inodes_used().value() + 100);
  EXPECT_GT(after.image_filesystems(0).timestamp(), 0);
}

TEST_P(ImageServiceTest, BasicAuthWithAuthConfigBothWays) {
  std::string htpasswd = dir_ / "htpasswd";
  std::string out;
  ASSERT_EQ(RunTool({"htpasswd", "-Bbc", htpasswd, "alice", "s3cret"}, &out), 0) << out;
  {
    auto open = StartRegistry();  // push anonymously, then serve the same storage with auth
    ASSERT_TRUE(open);
    Push(*open, TestImages::Get().path("busybox"), "private/busybox", "1");
  }
  RegistryOptions o;
  o.htpasswd_file = htpasswd;
  auto reg = StartRegistry(o);
  ASSERT_TRUE(reg);
  ASSERT_TRUE(StartBerthd());
  std::string ref = reg->host() + "/private/busybox:1";

  grpc::Status anon = Pull(ref);
  EXPECT_EQ(anon.error_code(), grpc::StatusCode::UNAUTHENTICATED) << anon.error_message();
  runtime::v1::AuthConfig wrong;
  wrong.set_username("alice");
  wrong.set_password("wrong");
  grpc::Status bad = Pull(ref, nullptr, wrong);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::UNAUTHENTICATED) << bad.error_message();
  EXPECT_TRUE(List().empty());

  runtime::v1::AuthConfig userpass;
  userpass.set_username("alice");
  userpass.set_password("s3cret");
  grpc::Status ok1 = Pull(ref, nullptr, userpass);
  ASSERT_TRUE(ok1.ok()) << ok1.error_message();
  ASSERT_TRUE(Remove(ref).ok());

  runtime::v1::AuthConfig encoded;
  encoded.set_auth(image::registry::Base64Encode("alice:s3cret"));
  grpc::Status ok2 = Pull(ref, nullptr, encoded);
  ASSERT_TRUE(ok2.ok()) << ok2.error_message();
  EXPECT_EQ(List().size(), 1u);

  runtime::v1::AuthConfig garbage;
  garbage.set_auth("%%%not base64");
  EXPECT_EQ(Pull(ref, nullptr, garbage).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_P(ImageServiceTest, TlsWithATestCaFromTheConfig) {
  std::string ca_key = dir_ / "ca.key", ca = dir_ / "ca.pem", key = dir_ / "server.key",
              csr = dir_ / "server.csr", cert = dir_ / "server.pem", ext = dir_ / "ext.cnf";
  std::ofstream(ext) << "subjectAltName=IP:127.0.0.1,DNS:localhost\n";
  std::string out;
  ASSERT_EQ(RunTool({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key,
                     "-out", ca, "-days", "2", "-subj", "/CN=berth test CA"},
                    &out),
            0)
      << out;
  ASSERT_EQ(RunTool({"openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
                     "-subj", "/CN=127.0.0.1"},
                    &out),
            0)
      << out;
  ASSERT_EQ(RunTool({"openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
                     "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext},
                    &out),
            0)
      << out;
  RegistryOptions o;
  o.tls_cert = cert;
  o.tls_key = key;
  auto reg = StartRegistry(o);
  ASSERT_TRUE(reg);
  Push(*reg, TestImages::Get().path("busybox"), "secure/busybox", "1", {true, ca});
  std::string ref = reg->host() + "/secure/busybox:1";

  ASSERT_TRUE(StartBerthd());
  grpc::Status unconfigured = Pull(ref);
  EXPECT_FALSE(unconfigured.ok());
  EXPECT_NE(unconfigured.error_message().find("TLS"), std::string::npos)
      << unconfigured.error_message();
  StopBerthd();

  ASSERT_TRUE(StartBerthd({{"registry", {{"hosts", {{reg->host(), {{"ca_file", ca}}}}}}}}));
  grpc::Status s = Pull(ref);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(List().size(), 1u);
}

// A pod whose containers share a PID namespace (the CRI default) runs the sandbox image as its
// infra container: berthd pulls it at the first such RunPodSandbox (here from the loopback
// registry), lists it pinned, and the pod's PID 1 is its /pause.
TEST_P(ImageServiceTest, SandboxImageIsPulledWhenAPodNeedsItAndPinned) {
  auto reg = StartRegistry();
  ASSERT_TRUE(reg);
  Push(*reg, TestImages::Get().path("pause"), "berth/pause", "1");
  const std::string pause = reg->host() + "/berth/pause:1";
  TempDir shim_dir;  // shim sockets need a short path (107-byte sun_path)
  ASSERT_TRUE(StartBerthd(
      {{"sandbox_image", pause},
       {"plugins", {{"io.berth.runtime.v1/native", {{"state_dir", shim_dir.path()}}}}}}));
  EXPECT_TRUE(List().empty()) << "nothing is pulled before a pod needs it";
  auto rt = runtime::v1::RuntimeService::NewStub(channel_);
  runtime::v1::PodSandboxConfig pod;
  pod.mutable_metadata()->set_name("needs-pause");
  pod.mutable_metadata()->set_namespace_("images");
  pod.mutable_metadata()->set_uid("uid-needs-pause");
  // Host networking: this test is about the image, not about CNI.
  pod.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_network(
      runtime::v1::NODE);
  std::string id;
  {
    grpc::ClientContext ctx;
    runtime::v1::RunPodSandboxRequest req;
    *req.mutable_config() = pod;
    runtime::v1::RunPodSandboxResponse resp;
    grpc::Status s = rt->RunPodSandbox(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message() << "\n" << berthd_->Stderr();
    id = resp.pod_sandbox_id();
  }
  runtime::v1::Image img = Status(pause);
  EXPECT_EQ(img.id(), TestImages::Read(TestImages::Get().path("pause")).config);
  EXPECT_TRUE(img.pinned());
  {
    grpc::ClientContext ctx;
    runtime::v1::PodSandboxStatusRequest req;
    req.set_pod_sandbox_id(id);
    req.set_verbose(true);
    runtime::v1::PodSandboxStatusResponse resp;
    ASSERT_TRUE(rt->PodSandboxStatus(&ctx, req, &resp).ok());
    int pid = nlohmann::json::parse(resp.info().at("info")).value("pid", 0);
    ASSERT_GT(pid, 1);
    Result<std::string> cmdline = ReadFile("/proc/" + std::to_string(pid) + "/cmdline");
    ASSERT_TRUE(cmdline.ok());
    EXPECT_EQ(*cmdline, std::string("/pause") + '\0');
  }
  {
    grpc::ClientContext ctx;
    runtime::v1::RemovePodSandboxRequest req;
    req.set_pod_sandbox_id(id);
    runtime::v1::RemovePodSandboxResponse resp;
    grpc::Status s = rt->RemovePodSandbox(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
  }
  EXPECT_EQ(LeftoverMounts(), "");
}

TEST_P(ImageServiceTest, DockerHubMirrorServesBusyboxWithNoOtherNetwork) {
  auto reg = StartRegistry();
  ASSERT_TRUE(reg);
  TestImages::Layout l = TestImages::Read(TestImages::Get().path("busybox"));
  Push(*reg, TestImages::Get().path("busybox"), "library/busybox", "latest");
  // Only the mirror: no origin fallback, so nothing but loopback is ever contacted.
  ASSERT_TRUE(StartBerthd(
      {{"registry", {{"hosts", {{"docker.io", {{"mirrors", {"http://" + reg->host()}}}}}}}},
       {"sandbox_image", "busybox"}}));
  std::string id;
  grpc::Status s = Pull("busybox", &id);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(id, l.config);
  runtime::v1::Image img = Status("docker.io/library/busybox:latest");
  EXPECT_EQ(Tags(img), std::vector<std::string>{"docker.io/library/busybox:latest"});
  EXPECT_EQ(Digests(img)[0], "docker.io/library/busybox@" + l.manifest);
  EXPECT_TRUE(img.pinned()) << "the configured sandbox image is pinned";
  // containerd lets a pinned image be removed explicitly; so does berth.
  ASSERT_TRUE(Remove("busybox").ok());
  EXPECT_TRUE(List().empty());
}

TEST_P(ImageServiceBothTest, UnpackedLayersApplyWhiteoutsOpaqueDirsAndLinks) {
  auto reg = StartRegistry();
  ASSERT_TRUE(reg);
  Push(*reg, TestImages::Get().path("layered"), "test/layered", "v1");
  ASSERT_TRUE(StartBerthd());
  std::string info;
  ASSERT_TRUE(Pull(reg->host() + "/test/layered:v1").ok());
  Status(reg->host() + "/test/layered:v1", &info);
  auto j = nlohmann::json::parse(info);
  std::string chain = j["chainID"];
  ASSERT_EQ(j["snapshots"][snapshotter()].size(), 3u);
  StopBerthd();
  WithRootfs(chain, [](const std::string& r) {
    EXPECT_TRUE(fs::is_regular_file(r + "/bin/busybox"));
    EXPECT_TRUE(fs::is_symlink(r + "/bin/sh"));
    EXPECT_EQ(*ReadFile(r + "/data/keep/file"), "kept\n");
    EXPECT_FALSE(fs::exists(r + "/data/gone")) << "whiteout";
    EXPECT_FALSE(fs::exists(r + "/data/opaque/old")) << "opaque directory";
    EXPECT_EQ(*ReadFile(r + "/data/opaque/new"), "new in opaque\n");
    EXPECT_EQ(*ReadFile(r + "/data/zstd-file"), "from zstd layer\n");
    EXPECT_TRUE(fs::equivalent(r + "/data/hardlink", r + "/data/hardlink-target"));
    EXPECT_EQ(fs::read_symlink(r + "/data/symlink"), "keep/file");
    struct stat st;
    ASSERT_EQ(::stat((r + "/tmp").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 01777u);
  });
}

TEST_P(ImageServiceBothTest, ImportOciLayoutDirTarAndDockerSave) {
  ASSERT_TRUE(StartBerthd());
  std::string bb = TestImages::Get().path("busybox");
  TestImages::Layout l = TestImages::Read(bb);

  berth::v1::ImportImageResponse resp;
  grpc::Status s = Import(bb, "imported/busybox:dir", &resp);
  ASSERT_TRUE(s.ok()) << s.error_message() << "\n" << berthd_->Stderr();
  ASSERT_EQ(resp.images_size(), 1);
  EXPECT_EQ(resp.images(0).id(), l.config);
  EXPECT_EQ(resp.images(0).repo_tags(0), "docker.io/imported/busybox:dir");
  EXPECT_EQ(Status("imported/busybox:dir").id(), l.config);

  // The layered image as an OCI layout tar.
  std::string tar = dir_ / "layered.tar";
  std::string out;
  ASSERT_EQ(RunTool({"tar", "-C", TestImages::Get().path("layered"), "-cf", tar, "."}, &out), 0);
  resp.Clear();
  s = Import(tar, "imported/layered:tar", &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.images(0).id(), TestImages::Read(TestImages::Get().path("layered")).config);

  // A docker-save tarball built from the busybox layout: manifest.json, config, layer.tar.
  std::string save = dir_ / "save";
  fs::create_directories(save + "/layer0");
  fs::copy_file(bb + "/blobs/sha256/" + l.config.substr(7),
                save + "/" + l.config.substr(7) + ".json");
  ASSERT_EQ(RunTool({"sh", "-c",
                     "gzip -dc '" + bb + "/blobs/sha256/" + l.layers[0].substr(7) + "' > '" + save +
                         "/layer0/layer.tar'"},
                    &out),
            0)
      << out;
  nlohmann::json m = nlohmann::json::array({{{"Config", l.config.substr(7) + ".json"},
                                             {"RepoTags", {"saved/busybox:v1"}},
                                             {"Layers", {"layer0/layer.tar"}}}});
  std::ofstream(save + "/manifest.json") << m.dump();
  std::string save_tar = dir_ / "save.tar";
  ASSERT_EQ(RunTool({"tar", "-C", save, "-cf", save_tar, "."}, &out), 0);
  resp.Clear();
  s = Import(save_tar, "", &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.images(0).id(), l.config) << "same config: the same image";
  EXPECT_EQ(Status("saved/busybox:v1").id(), l.config);
  EXPECT_EQ(Tags(Status(l.config)).size(), 2u);

  // Errors.
  EXPECT_EQ(Import(dir_ / "absent", "", &resp).error_code(), grpc::StatusCode::NOT_FOUND);
  std::ofstream(dir_ / "junk.tar") << "junk";
  EXPECT_EQ(Import(dir_ / "junk.tar", "", &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(!fs::exists(root() + "/tmp") || fs::is_empty(root() + "/tmp"))
      << "import scratch space is cleaned";
  ASSERT_TRUE(Remove(l.config).ok());
  ASSERT_TRUE(Remove("imported/layered:tar").ok());
  EXPECT_EQ(BlobCount(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Snapshotters, ImageServiceBothTest, Values("overlay", "native"),
                         [](const auto& info) { return info.param; });
INSTANTIATE_TEST_SUITE_P(Overlay, ImageServiceTest, Values("overlay"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace berth::testing
