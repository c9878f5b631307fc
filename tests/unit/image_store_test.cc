// cri/image/store (records, chain ids, the crash-safe store with tag moves), the pull progress
// hub, and the importer (OCI layout dir/tar, docker-save tar) against a real content store.

#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/fs.h"
#include "cri/image/importer.h"
#include "cri/image/pull_progress.h"
#include "cri/image/store/image_store.h"
#include "tests/support/test_env.h"

namespace berth::image {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kD1 = "sha256:" + std::string(64, 'a');
const std::string kD2 = "sha256:" + std::string(64, 'b');
const std::string kD3 = "sha256:" + std::string(64, 'c');

ImageRecord Rec(const std::string& id, std::vector<std::string> tags) {
  ImageRecord r;
  r.id = id;
  r.repo_tags = std::move(tags);
  r.config.diff_ids = {kD1};
  r.snapshots["overlay"] = {kD1};
  return r;
}

TEST(ImageConfigTest, ParsesTheFieldsKubeletReads) {
  auto c = ParseImageConfig(R"({"config":{"User":"1000:1000","Env":["A=1"],"Entrypoint":["/e"],
    "Cmd":["sh"],"WorkingDir":"/w","StopSignal":"SIGINT","ExposedPorts":{"80/tcp":{}},
    "Volumes":{"/data":{}},"Labels":{"k":"v"}},"rootfs":{"type":"layers","diff_ids":[")" +
                            kD1 + R"("]}})");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->user, "1000:1000");
  EXPECT_EQ(c->env, std::vector<std::string>{"A=1"});
  EXPECT_EQ(c->entrypoint, std::vector<std::string>{"/e"});
  EXPECT_EQ(c->cmd, std::vector<std::string>{"sh"});
  EXPECT_EQ(c->working_dir, "/w");
  EXPECT_EQ(c->stop_signal, "SIGINT");
  EXPECT_EQ(c->exposed_ports, std::vector<std::string>{"80/tcp"});
  EXPECT_EQ(c->volumes, std::vector<std::string>{"/data"});
  EXPECT_EQ(c->labels.at("k"), "v");
  EXPECT_EQ(c->diff_ids, std::vector<std::string>{kD1});

  EXPECT_EQ(ParseImageConfig("[]").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseImageConfig(R"({"config":{}})").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseImageConfig(R"({"rootfs":{"diff_ids":["nope"]}})").status().code(),
            StatusCode::kInvalidArgument);
}

TEST(ImageRecordTest, JsonRoundTripAndChainIds) {
  ImageRecord r = Rec(kD2, {"docker.io/library/busybox:latest"});
  r.repo_digests = {"docker.io/library/busybox@" + kD3};
  r.size = 1234;
  r.config.user = "berth";
  r.config.labels["a"] = "b";
  r.pinned = true;
  auto back = ImageRecord::FromJson(json::parse(r.ToJson().dump()));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->ToJson(), r.ToJson());
  EXPECT_FALSE(ImageRecord::FromJson(json{{"id", "x"}}).ok());

  // The OCI rule: chain[0] = diff[0]; chain[n] = sha256(chain[n-1] + " " + diff[n]).
  auto chain = ChainIds({kD1, kD2});
  ASSERT_EQ(chain.size(), 2u);
  EXPECT_EQ(chain[0], kD1);
  EXPECT_EQ(chain[1], DigestOf(kD1 + " " + kD2).String());
  EXPECT_TRUE(ChainIds({}).empty());
}

TEST(ImageStoreTest, PutMergesMovesTagsAndSurvivesReopen) {
  testing::TempDir dir;
  Logger log(LogLevel::kError);
  {
    auto s = ImageStore::Open(dir.path(), log);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    ASSERT_TRUE((*s)->Put(Rec(kD1, {"docker.io/library/a:1"})).ok());
    ImageRecord again = Rec(kD1, {"docker.io/library/a:2"});
    again.repo_digests = {"docker.io/library/a@" + kD3};
    auto merged = (*s)->Put(again);
    ASSERT_TRUE(merged.ok());
    EXPECT_EQ(merged->repo_tags,
              (std::vector<std::string>{"docker.io/library/a:2", "docker.io/library/a:1"}));
    // The tag moves to the new image; the old one stays, without it.
    ASSERT_TRUE((*s)->Put(Rec(kD2, {"docker.io/library/a:1"})).ok());
    EXPECT_EQ((*s)->Get(kD1)->repo_tags, std::vector<std::string>{"docker.io/library/a:2"});
    EXPECT_EQ((*s)->FindByRef("docker.io/library/a:1")->id, kD2);
    EXPECT_EQ((*s)->FindByRef("docker.io/library/a@" + kD3)->id, kD1);
    EXPECT_EQ((*s)->IdsWithPrefix("aaaa"), std::vector<std::string>{kD1});
    EXPECT_EQ((*s)->IdsWithPrefix("sha256:b").size(), 1u);
  }
  auto s = ImageStore::Open(dir.path(), log);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->List().size(), 2u);
  EXPECT_EQ((*s)->FindByRef("docker.io/library/a:1")->id, kD2);
  EXPECT_TRUE(*(*s)->Remove(kD2));
  EXPECT_FALSE(*(*s)->Remove(kD2));
  EXPECT_FALSE((*s)->Get(kD2));
  EXPECT_FALSE(fs::exists(dir / ("images/" + std::string(64, 'b') + ".json")));
}

TEST(ImageStoreTest, CrashInTheMiddleOfATagMoveLeavesTheTagWithTheNewerImage) {
  testing::TempDir dir;
  ASSERT_TRUE(MakeDirs(dir / "images", 0700).ok());
  ImageRecord older = Rec(kD1, {"docker.io/library/a:1"});
  older.updated_unix_nano = 100;
  ImageRecord newer = Rec(kD2, {"docker.io/library/a:1"});
  newer.updated_unix_nano = 200;
  ASSERT_TRUE(
      AtomicWriteFile(dir / ("images/" + std::string(64, 'a') + ".json"), older.ToJson().dump())
          .ok());
  ASSERT_TRUE(
      AtomicWriteFile(dir / ("images/" + std::string(64, 'b') + ".json"), newer.ToJson().dump())
          .ok());
  std::ofstream(dir / "images/.x.json.tmp-123456") << "{";                   // a torn temp file
  std::ofstream(dir / ("images/" + std::string(64, 'c') + ".json")) << "{";  // garbage
  auto s = ImageStore::Open(dir.path(), Logger(LogLevel::kError));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ((*s)->FindByRef("docker.io/library/a:1")->id, kD2);
  EXPECT_TRUE((*s)->Get(kD1)->repo_tags.empty());
  EXPECT_FALSE(fs::exists(dir / "images/.x.json.tmp-123456"));
  EXPECT_EQ((*s)->List().size(), 2u);
}

TEST(PullProgressHubTest, WatchersSeeEveryChangeAndTheEnd) {
  PullProgressHub hub;
  int calls = 0;
  hub.Watch(
      "nothing", [&](const PullSnapshot&) { return ++calls, true; }, [] { return false; });
  EXPECT_EQ(calls, 0) << "no pull in flight: returns at once";

  auto e = hub.Begin("img");
  std::vector<PullSnapshot> seen;
  std::thread watcher([&] {
    hub.Watch(
        "img", [&](const PullSnapshot& s) { return seen.push_back(s), true; },
        [] { return false; });
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  hub.Update(e, {"d1", 10, 5, PullLayerState::kDownloading});
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  hub.Update(e, {"d1", 10, 10, PullLayerState::kDone});
  hub.Update(e, {"d1", 10, 10, PullLayerState::kDownloading});  // never back from done
  hub.Finish(e, "", "sha256:x");
  watcher.join();
  ASSERT_FALSE(seen.empty());
  EXPECT_TRUE(seen.back().done);
  EXPECT_EQ(seen.back().image_ref, "sha256:x");
  ASSERT_EQ(seen.back().layers.size(), 1u);
  EXPECT_EQ(seen.back().layers[0].state, PullLayerState::kDone);
  calls = 0;
  hub.Watch(
      "img", [&](const PullSnapshot&) { return ++calls, true; }, [] { return false; });
  EXPECT_EQ(calls, 0) << "finished pulls are forgotten";
}

// ---- importer -----------------------------------------------------------------------------------

class ImporterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    images_ = new testing::TempDir();
    ok_ =
        std::system(
            ("'" BERTH_MAKE_TEST_IMAGES "' " + images_->path() + " >/dev/null 2>&1").c_str()) == 0;
  }
  void SetUp() override {
    ASSERT_TRUE(ok_) << "make-test-images failed";
    auto s = ContentStore::Open(dir_ / "root");
    ASSERT_TRUE(s.ok());
    store_ = std::move(*s);
  }
  std::string Layout(const std::string& n) { return images_->path() + "/" + n; }
  Result<std::vector<LocalImage>> Import(const std::string& path, const std::string& name = "") {
    return ImportImages(path, name, *store_, dir_ / "scratch", HostPlatform());
  }

  static testing::TempDir* images_;
  static bool ok_;
  testing::TempDir dir_;
  std::unique_ptr<ContentStore> store_;
};
testing::TempDir* ImporterTest::images_ = nullptr;
bool ImporterTest::ok_ = false;

TEST_F(ImporterTest, OciLayoutDirectoryAndTar) {
  auto imgs = Import(Layout("busybox"), "docker.io/library/imported:1");
  ASSERT_TRUE(imgs.ok()) << imgs.status().ToString();
  ASSERT_EQ(imgs->size(), 1u);
  const LocalImage& img = (*imgs)[0];
  // index.json says ref.name "latest" only: the requested name is used.
  EXPECT_EQ(img.names, std::vector<std::string>{"docker.io/library/imported:1"});
  EXPECT_TRUE(store_->Has(img.manifest_digest));
  EXPECT_TRUE(store_->Has(img.config_digest));
  ASSERT_EQ(img.layers.size(), 1u);
  EXPECT_TRUE(store_->Has(img.layers[0].digest));
  EXPECT_EQ(DigestOf(img.config_json), img.config_digest);

  std::string tar = dir_ / "layered.tar";
  ASSERT_EQ(std::system(("tar -C '" + Layout("layered") + "' -cf '" + tar + "' .").c_str()), 0);
  auto t = Import(tar);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_TRUE((*t)[0].names.empty());
  EXPECT_EQ((*t)[0].layers.size(), 3u);
  for (const auto& l : (*t)[0].layers) EXPECT_TRUE(store_->Has(l.digest));
}

TEST_F(ImporterTest, CorruptBlobIsRefused) {
  std::string copy = dir_ / "copy";
  fs::copy(Layout("busybox"), copy, fs::copy_options::recursive);
  auto idx = json::parse(*ReadFile(copy + "/index.json"));
  auto man = json::parse(*ReadFile(copy + "/blobs/sha256/" +
                                   idx["manifests"][0]["digest"].get<std::string>().substr(7)));
  std::string layer =
      copy + "/blobs/sha256/" + man["layers"][0]["digest"].get<std::string>().substr(7);
  fs::permissions(layer, fs::perms::owner_write, fs::perm_options::add);
  {
    std::fstream f(layer, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.put('X');
  }
  auto r = Import(copy);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << r.status().ToString();
  EXPECT_FALSE(store_->Has(*Digest::Parse(man["layers"][0]["digest"].get<std::string>())));
}

TEST_F(ImporterTest, DockerSaveTarball) {
  // Build what `docker save` writes from the OCI layout: manifest.json, <config hex>.json and
  // <n>/layer.tar (uncompressed).
  std::string src = Layout("busybox"), out = dir_ / "save";
  fs::create_directories(out + "/0");
  auto idx = json::parse(*ReadFile(src + "/index.json"));
  auto man = json::parse(*ReadFile(src + "/blobs/sha256/" +
                                   idx["manifests"][0]["digest"].get<std::string>().substr(7)));
  std::string cfg_hex = man["config"]["digest"].get<std::string>().substr(7);
  fs::copy_file(src + "/blobs/sha256/" + cfg_hex, out + "/" + cfg_hex + ".json");
  std::string layer =
      src + "/blobs/sha256/" + man["layers"][0]["digest"].get<std::string>().substr(7);
  ASSERT_EQ(std::system(("gzip -dc '" + layer + "' > '" + out + "/0/layer.tar'").c_str()), 0);
  json m = json::array({{{"Config", cfg_hex + ".json"},
                         {"RepoTags", {"saved/busybox:v1"}},
                         {"Layers", {"0/layer.tar"}}}});
  std::ofstream(out + "/manifest.json") << m.dump();
  std::string tar = dir_ / "save.tar";
  ASSERT_EQ(std::system(("tar -C '" + out + "' -cf '" + tar + "' .").c_str()), 0);

  auto r = Import(tar);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].names, std::vector<std::string>{"docker.io/saved/busybox:v1"});
  EXPECT_EQ((*r)[0].config_digest.String(), man["config"]["digest"]);
  EXPECT_TRUE(store_->Has((*r)[0].manifest_digest));
  ASSERT_EQ((*r)[0].layers.size(), 1u);
  EXPECT_TRUE(store_->Has((*r)[0].layers[0].digest));

  EXPECT_EQ(Import(dir_ / "missing.tar").status().code(), StatusCode::kNotFound);
  std::ofstream(dir_ / "junk") << "not a tar";
  EXPECT_EQ(Import(dir_ / "junk").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Import("relative/path").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace berth::image
