// Pulls through berth's Fetcher from a real docker-registry on loopback: anonymous HTTP, basic
// auth, TLS with a test CA, a docker.io mirror, a corrupted blob, and (through a fault proxy)
// 500s, truncated downloads, a Bearer token flow and a cross-host blob redirect.

#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/fs.h"
#include "cri/image/fetcher.h"
#include "tests/support/registry_proxy.h"
#include "tests/support/registry_pusher.h"
#include "tests/support/registry_server.h"
#include "tests/support/test_env.h"

namespace berth::image {
namespace {

namespace fs = std::filesystem;
using registry::AuthConfig;
using registry::RegistryConfig;
using testing::RegistryServer;

// Built once per test binary (make-test-images takes a few seconds).
class Images {
 public:
  static Images& Get() {
    static Images* images = new Images();  // test-only; intentionally leaked
    return *images;
  }
  std::string dir() const { return dir_.path(); }
  bool ok() const { return ok_; }
  std::string error() const { return error_; }

  // Digests of a layout's manifest, config and layers.
  struct Layout {
    std::string manifest, config;
    std::vector<std::string> layers;
  };
  Layout Read(const std::string& name) const {
    Layout l;
    auto idx = nlohmann::json::parse(*ReadFile(dir() + "/" + name + "/index.json"));
    l.manifest = idx["manifests"][0]["digest"];
    auto m = nlohmann::json::parse(
        *ReadFile(dir() + "/" + name + "/blobs/sha256/" + l.manifest.substr(7)));
    l.config = m["config"]["digest"];
    for (auto& x : m["layers"]) l.layers.push_back(x["digest"]);
    return l;
  }

 private:
  Images() {
    std::string out;
    int rc = testing::RunTool({BERTH_MAKE_TEST_IMAGES, dir_.path()}, &out);
    ok_ = rc == 0;
    error_ = out;
  }
  testing::TempDir dir_;
  bool ok_ = false;
  std::string error_;
};

class RegistryPullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string missing;
    if (!testing::RegistryToolsAvailable(&missing)) {
      if (testing::RunningInCi()) FAIL() << "missing " << missing;
      GTEST_SKIP() << "missing " << missing;
    }
    ASSERT_TRUE(Images::Get().ok()) << Images::Get().error();
    storage_ = dir_ / "registry";
    auto s = ContentStore::Open(dir_ / "berth");
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
    client_options_.initial_backoff = std::chrono::milliseconds(10);
    client_options_.max_backoff = std::chrono::milliseconds(50);
    client_options_.timeouts.connect_ms = 5000;
  }

  std::unique_ptr<RegistryServer> StartRegistry(testing::RegistryOptions o = {}) {
    o.storage_dir = storage_;
    auto r = std::make_unique<RegistryServer>(o);
    Status s = r->Start();
    EXPECT_TRUE(s.ok()) << s.ToString();
    return s.ok() ? std::move(r) : nullptr;
  }

  std::string Push(const RegistryServer& reg, const std::string& layout, const std::string& repo,
                   const std::string& tag, const std::string& index_tag = "",
                   registry::TlsSettings tls = {}) {
    testing::PushTarget t{reg.url(), repo, tag, index_tag, "", tls};
    auto d = testing::PushOciLayout(Images::Get().dir() + "/" + layout, t);
    EXPECT_TRUE(d.ok()) << d.status().ToString() << "\n" << reg.Log();
    return d.ok() ? *d : "";
  }

  Result<ResolvedImage> Pull(const std::string& ref_text, const RegistryConfig& cfg = {},
                             const AuthConfig& auth = {}, FetchOptions opts = {}) {
    auto ref = ParseReference(ref_text);
    if (!ref.ok()) return ref.status();
    Fetcher f(*store_, cfg, Logger(LogLevel::kWarn), client_options_);
    return f.Fetch(*ref, auth, opts);
  }

  void ExpectComplete(const ResolvedImage& img, const std::string& layout) {
    Images::Layout l = Images::Get().Read(layout);
    EXPECT_EQ(img.manifest_digest.String(), l.manifest);
    EXPECT_EQ(img.config_digest.String(), l.config);
    ASSERT_EQ(img.layers.size(), l.layers.size());
    for (size_t i = 0; i < l.layers.size(); ++i) {
      EXPECT_EQ(img.layers[i].digest.String(), l.layers[i]);
      ASSERT_TRUE(store_->Has(img.layers[i].digest)) << l.layers[i];
      // Byte-identical to the layout's blob.
      EXPECT_EQ(
          *store_->ReadAll(img.layers[i].digest, 1 << 30),
          *ReadFile(Images::Get().dir() + "/" + layout + "/blobs/sha256/" + l.layers[i].substr(7)));
    }
    EXPECT_TRUE(store_->Has(img.config_digest));
    EXPECT_TRUE(store_->Has(img.manifest_digest));
    EXPECT_NE(img.config_json.find("\"rootfs\""), std::string::npos);
    EXPECT_TRUE(NoIngests());
  }

  bool NoIngests() const { return fs::is_empty(dir_ / "berth/content/ingest"); }
  size_t BlobCount() const { return store_->List()->size(); }

  static RegistryConfig Config(const std::string& json_text) {
    auto c = RegistryConfig::FromJson(nlohmann::json::parse(json_text), "registries");
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? *c : RegistryConfig{};
  }

  testing::TempDir dir_;
  std::string storage_;
  std::unique_ptr<ContentStore> store_;
  registry::ClientOptions client_options_;
};

TEST_F(RegistryPullTest, AnonymousHttpPullsBothImagesWithProgress) {
  auto reg = StartRegistry();
  ASSERT_TRUE(reg);
  Push(*reg, "busybox", "test/busybox", "1");
  std::string layered = Push(*reg, "layered", "test/layered", "v1", "multi");

  std::mutex mu;
  std::map<std::string, LayerProgress> last;
  FetchOptions opts;
  opts.progress = [&](const LayerProgress& p) {
    std::lock_guard lock(mu);
    last[p.digest.String()] = p;
  };
  auto img = Pull(reg->host() + "/test/layered:v1", {}, {}, opts);
  ASSERT_TRUE(img.ok()) << img.status().ToString();
  ExpectComplete(*img, "layered");
  EXPECT_EQ(img->repo_digest, reg->host() + "/test/layered@" + layered);
  EXPECT_EQ(img->endpoint, "http://" + reg->host());  // loopback fell back to plain HTTP
  EXPECT_FALSE(img->index_digest.valid());
  for (const auto& l : img->layers) {
    ASSERT_TRUE(last.count(l.digest.String()));
    EXPECT_EQ(last[l.digest.String()].state, LayerProgress::State::kDone);
    EXPECT_EQ(last[l.digest.String()].done, l.size);
  }

  // HEAD reports the tag's digest without a body.
  registry::RepositoryClient head_client(
      (*RegistryConfig{}.EndpointsFor(reg->host()))[0], "test/layered",
      std::make_shared<registry::Authorizer>(AuthConfig{}, registry::HttpTimeouts{}),
      client_options_, Logger(LogLevel::kWarn));
  auto head = head_client.HeadManifest("v1");
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(head->String(), layered);
  EXPECT_EQ(head_client.HeadManifest("absent").status().code(), StatusCode::kNotFound);

  auto bb = Pull(reg->host() + "/test/busybox:1");
  ASSERT_TRUE(bb.ok()) << bb.status().ToString();
  ExpectComplete(*bb, "busybox");

  // Again: everything is already there.
  last.clear();
  auto again = Pull(reg->host() + "/test/layered:v1", {}, {}, opts);
  ASSERT_TRUE(again.ok());
  for (const auto& l : again->layers) {
    EXPECT_EQ(last[l.digest.String()].state, LayerProgress::State::kAlreadyExists);
  }
}

TEST_F(RegistryPullTest, ByDigestAndThroughAnIndexWithPlatformSelection) {
  auto reg = StartRegistry();
  ASSERT_TRUE(reg);
  std::string digest = Push(*reg, "layered", "test/layered", "v1", "multi");
  auto by_digest = Pull(reg->host() + "/test/layered@" + digest);
  ASSERT_TRUE(by_digest.ok()) << by_digest.status().ToString();
  ExpectComplete(*by_digest, "layered");
  auto tag_and_digest = Pull(reg->host() + "/test/layered:nonexistent@" + digest);
  ASSERT_TRUE(tag_and_digest.ok()) << "the digest wins: " << tag_and_digest.status().ToString();

  auto multi = Pull(reg->host() + "/test/layered:multi");
  ASSERT_TRUE(multi.ok()) << multi.status().ToString();
  ExpectComplete(*multi, "layered");
  EXPECT_TRUE(multi->index_digest.valid());
  EXPECT_EQ(multi->repo_digest, reg->host() + "/test/layered@" + multi->index_digest.String());
  EXPECT_TRUE(store_->Has(multi->index_digest));

  FetchOptions other;
  other.platform = {"linux", "s390x", ""};
  auto wrong = Pull(reg->host() + "/test/layered:multi", {}, {}, other);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), StatusCode::kNotFound);
  EXPECT_NE(wrong.status().message().find("no manifest for platform linux/s390x"),
            std::string::npos)
      << wrong.status().message();

  auto missing = Pull(reg->host() + "/test/layered:nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound) << missing.status().ToString();
  auto wrong_digest = Pull(reg->host() + "/test/layered@sha256:" + std::string(64, '0'));
  EXPECT_EQ(wrong_digest.status().code(), StatusCode::kNotFound);
}

TEST_F(RegistryPullTest, ConcurrentPullsOfOneImageDownloadEachBlobOnce) {
  auto reg = StartRegistry();
  ASSERT_TRUE(reg);
  Push(*reg, "layered", "test/layered", "v1");
  testing::ProxyOptions po;
  po.upstream_port = reg->port();
  testing::RegistryProxy proxy(po);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      if (Pull(proxy.host() + "/test/layered:v1").ok()) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 4);
  std::map<std::string, int> blob_gets;
  for (const auto& r : proxy.requests()) {
    if (r.method == "GET" && r.path.find("/blobs/") != std::string::npos) ++blob_gets[r.path];
  }
  EXPECT_EQ(blob_gets.size(), 4u);  // config + 3 layers
  for (auto& [path, n] : blob_gets) EXPECT_EQ(n, 1) << path;
}

TEST_F(RegistryPullTest, BasicAuthWithHtpasswd) {
  {
    auto reg = StartRegistry();
    ASSERT_TRUE(reg);
    Push(*reg, "busybox", "private/busybox", "1");
  }
  std::string htpasswd = dir_ / "htpasswd";
  std::string out;
  ASSERT_EQ(testing::RunTool({"htpasswd", "-Bbc", htpasswd, "alice", "s3cret"}, &out), 0) << out;
  testing::RegistryOptions o;
  o.htpasswd_file = htpasswd;
  auto reg = StartRegistry(o);
  ASSERT_TRUE(reg);
  std::string ref = reg->host() + "/private/busybox:1";

  auto anon = Pull(ref);
  ASSERT_FALSE(anon.ok());
  EXPECT_EQ(anon.status().code(), StatusCode::kUnauthenticated) << anon.status().ToString();
  EXPECT_NE(anon.status().message().find("requires a username and password"), std::string::npos)
      << anon.status().message();

  AuthConfig wrong;
  wrong.username = "alice";
  wrong.password = "nope";
  auto bad = Pull(ref, {}, wrong);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kUnauthenticated) << bad.status().ToString();
  EXPECT_NE(bad.status().message().find("rejected the credentials"), std::string::npos)
      << bad.status().message();
  EXPECT_EQ(BlobCount(), 0u);

  AuthConfig right;
  right.username = "alice";
  right.password = "s3cret";
  auto good = Pull(ref, {}, right);
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  ExpectComplete(*good, "busybox");

  // The same credentials as CRI's base64 "auth" field.
  ASSERT_TRUE(store_->GarbageCollect({}).ok());
  AuthConfig encoded;
  encoded.auth = registry::Base64Encode("alice:s3cret");
  auto good2 = Pull(ref, {}, encoded);
  ASSERT_TRUE(good2.ok()) << good2.status().ToString();
}

TEST_F(RegistryPullTest, TlsWithATestCa) {
  std::string ca_key = dir_ / "ca.key", ca = dir_ / "ca.pem", key = dir_ / "server.key",
              csr = dir_ / "server.csr", cert = dir_ / "server.pem", ext = dir_ / "ext.cnf";
  { std::ofstream(ext) << "subjectAltName=IP:127.0.0.1,DNS:localhost\n"; }
  std::string out;
  ASSERT_EQ(testing::RunTool({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                              ca_key, "-out", ca, "-days", "2", "-subj", "/CN=berth test CA"},
                             &out),
            0)
      << out;
  ASSERT_EQ(testing::RunTool({"openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                              "-out", csr, "-subj", "/CN=127.0.0.1"},
                             &out),
            0)
      << out;
  ASSERT_EQ(testing::RunTool({"openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
                              "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext},
                             &out),
            0)
      << out;
  testing::RegistryOptions o;
  o.tls_cert = cert;
  o.tls_key = key;
  auto reg = StartRegistry(o);
  ASSERT_TRUE(reg);
  Push(*reg, "busybox", "secure/busybox", "1", "", {true, ca});
  std::string ref = reg->host() + "/secure/busybox:1";

  auto unconfigured = Pull(ref);
  ASSERT_FALSE(unconfigured.ok());
  EXPECT_NE(unconfigured.status().message().find("TLS verification failed"), std::string::npos)
      << unconfigured.status().ToString();
  EXPECT_EQ(BlobCount(), 0u);

  auto with_ca =
      Pull(ref, Config(R"({"hosts": {")" + reg->host() + R"(": {"ca_file": ")" + ca + R"("}}})"));
  ASSERT_TRUE(with_ca.ok()) << with_ca.status().ToString();
  ExpectComplete(*with_ca, "busybox");
  EXPECT_EQ(with_ca->endpoint, "https://" + reg->host());

  ASSERT_TRUE(store_->GarbageCollect({}).ok());
  auto insecure = Pull(ref, Config(R"({"hosts": {")" + reg->host() + R"(": {"insecure": true}}})"));
  ASSERT_TRUE(insecure.ok()) << insecure.status().ToString();
  EXPECT_EQ(insecure->endpoint, "https://" + reg->host());
}

TEST_F(RegistryPullTest, DockerHubMirrorServesLibraryImagesWithoutOtherNetwork) {
  auto reg = StartRegistry();
  ASSERT_TRUE(reg);
  Push(*reg, "busybox", "library/busybox", "latest");
  auto img = Pull("busybox", Config(R"({"hosts": {"docker.io": {"mirrors": ["http://)" +
                                    reg->host() + R"("]}}})"));
  ASSERT_TRUE(img.ok()) << img.status().ToString();
  ExpectComplete(*img, "busybox");
  EXPECT_EQ(img->reference.String(), "docker.io/library/busybox:latest");
  EXPECT_EQ(img->repo_digest.rfind("docker.io/library/busybox@sha256:", 0), 0u);
  EXPECT_EQ(img->endpoint, "http://" + reg->host());

  // The same through the "*" default entry, and a dead first mirror falls through to the next.
  ASSERT_TRUE(store_->GarbageCollect({}).ok());
  int dead = testing::FreeLoopbackPort();
  auto star = Pull("docker.io/library/busybox:latest",
                   Config(R"({"hosts": {"*": {"mirrors": ["http://127.0.0.1:)" +
                          std::to_string(dead) + R"(", ")" + reg->host() + R"("]}}})"));
  ASSERT_TRUE(star.ok()) << star.status().ToString();
  EXPECT_EQ(star->endpoint, "http://" + reg->host());

  // Only mirrors, no origin fallback: a missing image names every endpoint tried.
  auto missing = Pull("docker.io/library/nothere:1",
                      Config(R"({"hosts": {"*": {"mirrors": ["http://127.0.0.1:)" +
                             std::to_string(dead) + R"(", ")" + reg->host() + R"("]}}})"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound) << missing.status().ToString();
  EXPECT_NE(missing.status().message().find("every endpoint failed"), std::string::npos);
  EXPECT_EQ(missing.status().message().find("registry-1.docker.io"), std::string::npos);
}

TEST_F(RegistryPullTest, CorruptBlobInRegistryIsRefusedAndNothingStored) {
  auto reg = StartRegistry();
  ASSERT_TRUE(reg);
  Push(*reg, "busybox", "test/busybox", "1");
  Images::Layout l = Images::Get().Read("busybox");
  std::string data_path = reg->BlobDataPath(l.layers[0].substr(7));
  ASSERT_TRUE(fs::exists(data_path));
  {
    std::fstream f(data_path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(1000);
    f << "CORRUPTED";
  }
  auto img = Pull(reg->host() + "/test/busybox:1");
  ASSERT_FALSE(img.ok());
  EXPECT_EQ(img.status().code(), StatusCode::kDataLoss) << img.status().ToString();
  EXPECT_NE(img.status().message().find("failed verification"), std::string::npos);
  EXPECT_NE(img.status().message().find(l.layers[0]), std::string::npos);
  EXPECT_FALSE(store_->Has(*Digest::Parse(l.layers[0])));
  EXPECT_TRUE(NoIngests());
}

TEST_F(RegistryPullTest, RetriesServerErrorsAndResumesTruncatedDownloads) {
  auto reg = StartRegistry();
  ASSERT_TRUE(reg);
  Push(*reg, "busybox", "test/busybox", "1");
  testing::ProxyOptions po;
  po.upstream_port = reg->port();
  po.fail_blob_gets = 2;
  po.truncate_blob_gets = 1;
  po.truncate_after = 50000;
  testing::RegistryProxy proxy(po);
  FetchOptions opts;
  opts.max_parallel = 1;  // deterministic order: the config GET gets the 500s
  auto img = Pull(proxy.host() + "/test/busybox:1", {}, {}, opts);
  ASSERT_TRUE(img.ok()) << img.status().ToString();
  ExpectComplete(*img, "busybox");
  bool resumed = false;
  for (const auto& r : proxy.requests()) {
    if (r.range == "bytes=50000-") resumed = true;
  }
  EXPECT_TRUE(resumed) << "no ranged request after the truncated response";

  // Persistent failure: bounded retries, a clear UNAVAILABLE, nothing left behind.
  ASSERT_TRUE(store_->GarbageCollect({}).ok());
  testing::ProxyOptions always;
  always.upstream_port = reg->port();
  always.fail_blob_gets = 1000;
  testing::RegistryProxy broken(always);
  client_options_.max_attempts = 3;
  auto fail = Pull(broken.host() + "/test/busybox:1");
  ASSERT_FALSE(fail.ok());
  EXPECT_EQ(fail.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(fail.status().message().find("after 3 attempts"), std::string::npos)
      << fail.status().message();
  EXPECT_NE(fail.status().message().find("HTTP 500"), std::string::npos);
  EXPECT_TRUE(NoIngests());
}

TEST_F(RegistryPullTest, BearerTokenFlowAndCrossHostRedirectDropsCredentials) {
  auto reg = StartRegistry();
  ASSERT_TRUE(reg);
  Push(*reg, "layered", "test/layered", "v1");
  // Blob storage on another host name ("localhost" vs "127.0.0.1").
  testing::ProxyOptions storage_opts;
  storage_opts.upstream_port = reg->port();
  testing::RegistryProxy storage(storage_opts);
  testing::ProxyOptions po;
  po.upstream_port = reg->port();
  po.bearer_token = "tok-123";
  po.token_basic_user = "bob";
  po.token_basic_password = "pw";
  po.redirect_blobs_to = "http://localhost:" + std::to_string(storage.port());
  testing::RegistryProxy proxy(po);
  std::string ref = proxy.host() + "/test/layered:v1";

  auto anon = Pull(ref);
  ASSERT_FALSE(anon.ok());
  EXPECT_EQ(anon.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(anon.status().message().find("no credentials were given"), std::string::npos)
      << anon.status().message();

  AuthConfig wrong;
  wrong.username = "bob";
  wrong.password = "wrong";
  auto bad = Pull(ref, {}, wrong);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(bad.status().message().find("refused the credentials"), std::string::npos)
      << bad.status().message();

  int tokens_before = proxy.token_requests();
  AuthConfig right;
  right.username = "bob";
  right.password = "pw";
  auto img = Pull(ref, {}, right);
  ASSERT_TRUE(img.ok()) << img.status().ToString();
  ExpectComplete(*img, "layered");
  EXPECT_EQ(proxy.token_requests() - tokens_before, 1) << "token not cached across requests";
  int blob_requests = 0;
  for (const auto& r : storage.requests()) {
    ++blob_requests;
    EXPECT_EQ(r.authorization, "") << "credentials leaked to " << r.path;
  }
  EXPECT_EQ(blob_requests, 4);

  // A registry_token is sent as the bearer token directly.
  ASSERT_TRUE(store_->GarbageCollect({}).ok());
  AuthConfig direct;
  direct.registry_token = "tok-123";
  int before = proxy.token_requests();
  auto img2 = Pull(ref, {}, direct);
  ASSERT_TRUE(img2.ok()) << img2.status().ToString();
  EXPECT_EQ(proxy.token_requests(), before);
}

}  // namespace
}  // namespace berth::image
