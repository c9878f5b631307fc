// The real berthctl against a real berthd pulling from a real docker-registry on loopback:
// pull (progress lines, --creds, --auth, --pod-config), images in every output form, inspecti,
// imagefsinfo, rmi (by tag, by digest, -a, --prune) and image import, each checked against
// what crictl prints for the same CRI answers.

#include <algorithm>
#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/fs.h"
#include "tests/support/berthd_process.h"
#include "tests/support/registry_pusher.h"
#include "tests/support/registry_server.h"

namespace berth::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// The test images, built once per binary (make-test-images takes a few seconds).
class TestImages {
 public:
  static TestImages& Get() {
    static TestImages* images = new TestImages();  // test-only; intentionally leaked
    return *images;
  }
  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }
  std::string Layout(const std::string& name) const { return dir_.path() + "/" + name; }
  // The image id CRI reports: the config digest.
  std::string ConfigDigest(const std::string& name) const {
    auto index = nlohmann::json::parse(*ReadFile(Layout(name) + "/index.json"));
    std::string manifest = index["manifests"][0]["digest"];
    auto m = nlohmann::json::parse(*ReadFile(Layout(name) + "/blobs/sha256/" + manifest.substr(7)));
    return m["config"]["digest"];
  }

 private:
  TestImages() {
    std::string out;
    ok_ = RunTool({BERTH_MAKE_TEST_IMAGES, dir_.path()}, &out) == 0;
    error_ = out;
  }
  TempDir dir_;
  bool ok_ = false;
  std::string error_;
};

std::vector<std::string> SplitLines(const std::string& s) {
  std::vector<std::string> lines;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

// "<12 hex>: <State>[ (<size>)]", a plain progress line.
bool IsProgressLine(const std::string& line) {
  if (line.size() < 15 || line.substr(12, 2) != ": ") return false;
  if (line.find_first_not_of("0123456789abcdef") < 12) return false;
  std::string state = line.substr(14, line.find(' ', 14) - 14);
  for (const char* s : {"Pending", "Waiting", "Downloading", "Unpacking", "Done", "Failed"}) {
    if (state == s) return true;
  }
  return false;
}

class BerthctlImagesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    BERTH_REQUIRE_ROOT();
    std::string missing;
    if (!RegistryToolsAvailable(&missing)) {
      if (RunningInCi()) FAIL() << "missing " << missing;
      GTEST_SKIP() << "missing " << missing;
    }
    ASSERT_TRUE(TestImages::Get().ok()) << TestImages::Get().error();
    config_ = dir_ / "crictl.yaml";
    std::ofstream(config_) << "";
    registry_ = StartRegistry({});
    ASSERT_TRUE(registry_);
    busybox_manifest_ = Push("busybox", "test/busybox", "1.0");
    Push("layered", "test/layered", "latest");
    busybox_ = registry_->host() + "/test/busybox:1.0";
    layered_ = registry_->host() + "/test/layered:latest";
    busybox_id_ = TestImages::Get().ConfigDigest("busybox");
    layered_id_ = TestImages::Get().ConfigDigest("layered");
    ASSERT_TRUE(daemon_.Start()) << daemon_.Stderr();
  }

  std::unique_ptr<RegistryServer> StartRegistry(RegistryOptions o) {
    o.storage_dir = dir_ / "registry";
    auto r = std::make_unique<RegistryServer>(o);
    Status s = r->Start();
    EXPECT_TRUE(s.ok()) << s.ToString();
    return s.ok() ? std::move(r) : nullptr;
  }

  std::string Push(const std::string& layout, const std::string& repo, const std::string& tag) {
    PushTarget t{registry_->url(), repo, tag, "", "", {}};
    auto d = PushOciLayout(TestImages::Get().Layout(layout), t);
    EXPECT_TRUE(d.ok()) << d.status().ToString() << "\n" << registry_->Log();
    return d.ok() ? *d : "";
  }

  CommandResult Berthctl(std::vector<std::string> args) {
    std::vector<std::string> argv = {BERTHCTL_PATH,      "-c", config_, "-r",
                                     daemon_.endpoint(), "-t", "20s"};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, 120000);
  }

  // Pulls and checks crictl's last line; progress lines (stdout is no terminal here) before it
  // are the plain "<12 hex>: <State>" kind.
  void Pull(const std::string& ref, const std::string& id, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"pull"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(ref);
    CommandResult r = Berthctl(args);
    ASSERT_EQ(r.exit_code, 0) << r.err << "\n" << daemon_.Stderr();
    auto lines = SplitLines(r.out);
    ASSERT_FALSE(lines.empty());
    EXPECT_EQ(lines.back(), "Image is up to date for " + id);
    for (size_t i = 0; i + 1 < lines.size(); ++i) {
      EXPECT_TRUE(IsProgressLine(lines[i])) << lines[i];
    }
    EXPECT_EQ(r.err, "");
  }

  TempDir dir_;
  std::string config_;
  std::unique_ptr<RegistryServer> registry_;
  BerthdProcess daemon_{{}, BERTH_PLUGIN_BUILD_DIR};
  std::string busybox_, layered_, busybox_id_, layered_id_, busybox_manifest_;
};

TEST_F(BerthctlImagesTest, PullListInspectRemove) {
  ASSERT_NO_FATAL_FAILURE(Pull(busybox_, busybox_id_));
  // Idempotent, like every CRI runtime.
  ASSERT_NO_FATAL_FAILURE(Pull(busybox_, busybox_id_));

  const std::string repo = registry_->host() + "/test/busybox";
  const std::string short_id = busybox_id_.substr(7, 13);
  CommandResult table = Berthctl({"images"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  auto rows = SplitLines(table.out);
  ASSERT_EQ(rows.size(), 2u) << table.out;
  EXPECT_THAT(rows[0], ::testing::MatchesRegex("IMAGE +TAG +IMAGE ID +SIZE"));
  EXPECT_THAT(rows[1],
              ::testing::MatchesRegex(repo + " +1\\.0 +" + short_id + " +[0-9.]+(B|kB|MB)"));

  CommandResult quiet = Berthctl({"images", "-q"});
  EXPECT_EQ(quiet.out, busybox_id_ + "\n");

  CommandResult digests = Berthctl({"images", "--digests", "--no-trunc", "--pinned"});
  ASSERT_EQ(digests.exit_code, 0) << digests.err;
  EXPECT_THAT(digests.out, HasSubstr(busybox_manifest_ + "   " + busybox_id_));
  EXPECT_THAT(digests.out, HasSubstr(" false\n"));
  EXPECT_THAT(SplitLines(digests.out)[0],
              ::testing::MatchesRegex("IMAGE +TAG +DIGEST +IMAGE ID +SIZE +PINNED"));

  CommandResult json = Berthctl({"images", "-o", "json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  auto list = nlohmann::json::parse(json.out, nullptr, false);
  ASSERT_FALSE(list.is_discarded()) << json.out;
  ASSERT_EQ(list["images"].size(), 1u) << json.out;
  EXPECT_EQ(list["images"][0]["id"], busybox_id_);
  EXPECT_EQ(list["images"][0]["repoTags"][0], busybox_);
  EXPECT_EQ(list["images"][0]["repoDigests"][0], repo + "@" + busybox_manifest_);
  EXPECT_TRUE(list["images"][0].contains("pinned")) << "defaults are printed";

  CommandResult yaml = Berthctl({"images", "-o", "yaml"});
  ASSERT_EQ(yaml.exit_code, 0) << yaml.err;
  EXPECT_THAT(yaml.out, StartsWith("images:\n- id: " + busybox_id_ + "\n"));

  CommandResult verbose = Berthctl({"images", "-v"});
  EXPECT_THAT(verbose.out, StartsWith("ID: " + busybox_id_ + "\nRepoTags: " + busybox_ + "\n"));

  // The REPO[:TAG] argument filters.
  EXPECT_EQ(SplitLines(Berthctl({"images", busybox_}).out).size(), 2u);
  EXPECT_EQ(SplitLines(Berthctl({"images", repo + ":2.0"}).out).size(), 1u);

  CommandResult inspect = Berthctl({"inspecti", busybox_});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  auto status = nlohmann::json::parse(inspect.out, nullptr, false);
  ASSERT_FALSE(status.is_discarded()) << inspect.out;
  EXPECT_EQ(status["status"]["id"], busybox_id_);
  EXPECT_EQ(status["status"]["repoTags"][0], busybox_);
  // By id and by digest too; two images make a list.
  CommandResult two = Berthctl({"inspecti", "-q", busybox_id_, repo + "@" + busybox_manifest_});
  ASSERT_EQ(two.exit_code, 0) << two.err;
  auto pair = nlohmann::json::parse(two.out, nullptr, false);
  ASSERT_TRUE(pair.is_array()) << two.out;
  EXPECT_EQ(pair.size(), 2u);
  CommandResult inspect_yaml = Berthctl({"inspecti", "-o", "yaml", busybox_});
  EXPECT_THAT(inspect_yaml.out, HasSubstr("status:\n  id: " + busybox_id_ + "\n"));
  CommandResult inspect_table = Berthctl({"inspecti", "-o", "table", "-q", busybox_});
  EXPECT_THAT(inspect_table.out, StartsWith("ID: " + busybox_id_ + "\nTag: " + busybox_ + "\n"));

  CommandResult missing = Berthctl({"inspecti", repo + ":absent"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err, "berthctl: no such image \"" + repo + ":absent\" present\n");

  CommandResult fs = Berthctl({"imagefsinfo"});
  ASSERT_EQ(fs.exit_code, 0) << fs.err;
  auto fsinfo = nlohmann::json::parse(fs.out, nullptr, false);
  ASSERT_FALSE(fsinfo.is_discarded()) << fs.out;
  ASSERT_GE(fsinfo["status"]["imageFilesystems"].size(), 1u) << fs.out;
  const auto& usage = fsinfo["status"]["imageFilesystems"][0];
  EXPECT_GT(std::stoull(usage["usedBytes"]["value"].get<std::string>()), 1000u) << fs.out;
  EXPECT_GT(std::stoull(usage["inodesUsed"]["value"].get<std::string>()), 0u) << fs.out;
  EXPECT_FALSE(usage["fsId"]["mountpoint"].get<std::string>().empty()) << fs.out;
  CommandResult fs_yaml = Berthctl({"imagefsinfo", "-o", "yaml"});
  EXPECT_THAT(fs_yaml.out, StartsWith("status:\n"));
  CommandResult fs_table = Berthctl({"imagefsinfo", "-o", "table"});
  EXPECT_THAT(fs_table.out, HasSubstr("Image Filesystem \nTimeStamp[0]: "));

  CommandResult rmi = Berthctl({"rmi", busybox_});
  ASSERT_EQ(rmi.exit_code, 0) << rmi.err;
  EXPECT_EQ(rmi.out, "Deleted: " + busybox_ + "\n");
  EXPECT_EQ(Berthctl({"images", "-q"}).out, "");
  CommandResult again = Berthctl({"rmi", busybox_});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_EQ(again.err,
            "berthctl: no such image " + busybox_ + "\nberthctl: unable to remove the image(s)\n");
}

TEST_F(BerthctlImagesTest, PullByDigestHasNoTag) {
  const std::string repo = registry_->host() + "/test/busybox";
  const std::string by_digest = repo + "@" + busybox_manifest_;
  ASSERT_NO_FATAL_FAILURE(Pull(by_digest, busybox_id_));
  auto rows = SplitLines(Berthctl({"images"}).out);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_THAT(rows[1], ::testing::MatchesRegex(repo + " +<none> +.*"));
  CommandResult rmi = Berthctl({"rmi", busybox_id_});
  ASSERT_EQ(rmi.exit_code, 0) << rmi.err;
  EXPECT_EQ(rmi.out, "Deleted: " + by_digest + "\n");
}

TEST_F(BerthctlImagesTest, RemoveAllAndPrune) {
  ASSERT_NO_FATAL_FAILURE(Pull(busybox_, busybox_id_));
  ASSERT_NO_FATAL_FAILURE(Pull(layered_, layered_id_));
  // No container uses them (or the runtime has none at all): --prune removes both.
  CommandResult prune = Berthctl({"rmi", "--prune"});
  ASSERT_EQ(prune.exit_code, 0) << prune.err;
  EXPECT_THAT(prune.out, HasSubstr("Deleted: " + busybox_ + "\n"));
  EXPECT_THAT(prune.out, HasSubstr("Deleted: " + layered_ + "\n"));
  EXPECT_EQ(Berthctl({"images", "-q"}).out, "");
  CommandResult nothing = Berthctl({"rmi", "-q"});
  EXPECT_EQ(nothing.exit_code, 0) << nothing.err;
  EXPECT_EQ(nothing.err, "No images to remove\n");

  ASSERT_NO_FATAL_FAILURE(Pull(busybox_, busybox_id_));
  ASSERT_NO_FATAL_FAILURE(Pull(layered_, layered_id_));
  CommandResult all = Berthctl({"rmi", "-a"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  EXPECT_EQ(SplitLines(all.out).size(), 2u) << all.out;
  EXPECT_EQ(Berthctl({"images", "-q"}).out, "");
}

TEST_F(BerthctlImagesTest, CredentialsAndPodConfig) {
  // The same storage behind basic auth.
  registry_.reset();
  std::string htpasswd = dir_ / "htpasswd";
  std::string out;
  ASSERT_EQ(RunTool({"htpasswd", "-Bbc", htpasswd, "alice", "s3cret"}, &out), 0) << out;
  RegistryOptions o;
  o.htpasswd_file = htpasswd;
  registry_ = StartRegistry(o);
  ASSERT_TRUE(registry_);
  const std::string ref = registry_->host() + "/test/busybox:1.0";

  CommandResult anonymous = Berthctl({"pull", ref});
  EXPECT_EQ(anonymous.exit_code, 1);
  EXPECT_THAT(anonymous.err, StartsWith("berthctl: pulling image: rpc error: code = "));
  EXPECT_EQ(std::count(anonymous.err.begin(), anonymous.err.end(), '\n'), 1) << anonymous.err;

  CommandResult wrong = Berthctl({"pull", "--creds", "alice:wrong", ref});
  EXPECT_EQ(wrong.exit_code, 1);

  ASSERT_NO_FATAL_FAILURE(Pull(ref, busybox_id_, {"--creds", "alice:s3cret"}));
  ASSERT_EQ(Berthctl({"rmi", ref}).exit_code, 0);
  // --auth: base64("alice:s3cret").
  ASSERT_NO_FATAL_FAILURE(Pull(ref, busybox_id_, {"--auth", "YWxpY2U6czNjcmV0"}));
  ASSERT_EQ(Berthctl({"rmi", ref}).exit_code, 0);

  std::string pod_yaml = dir_ / "pod.yaml";
  std::ofstream(pod_yaml) << "metadata:\n  name: pull-test\n  namespace: default\n"
                             "log_directory: /tmp\nlinux:\n  cgroup_parent: /berth-test\n";
  ASSERT_NO_FATAL_FAILURE(
      Pull(ref, busybox_id_, {"--creds", "alice:s3cret", "--pod-config", pod_yaml}));
  std::string pod_json = dir_ / "pod.json";
  std::ofstream(pod_json) << R"({"metadata": {"name": "p", "namespace": "default"}})";
  ASSERT_NO_FATAL_FAILURE(
      Pull(ref, busybox_id_, {"--creds", "alice:s3cret", "--pod-config", pod_json}));
}

TEST_F(BerthctlImagesTest, PullFailureIsOneLine) {
  CommandResult r = Berthctl({"pull", registry_->host() + "/test/absent:1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, StartsWith("berthctl: pulling image: rpc error: code = "));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(Berthctl({"images", "-q"}).out, "") << "a failed pull leaves no image";
}

TEST_F(BerthctlImagesTest, ImportLayout) {
  CommandResult r = Berthctl({"image", "import", TestImages::Get().Layout("busybox"), "--name",
                              "localhost/imported/busybox:1"});
  ASSERT_EQ(r.exit_code, 0) << r.err << "\n" << daemon_.Stderr();
  EXPECT_THAT(r.out, StartsWith("Imported "));
  EXPECT_THAT(r.out, HasSubstr(busybox_id_));
  CommandResult listed = Berthctl({"images", "-q"});
  EXPECT_EQ(listed.out, busybox_id_ + "\n");
  CommandResult inspect = Berthctl({"inspecti", busybox_id_});
  EXPECT_EQ(inspect.exit_code, 0) << inspect.err;

  CommandResult absent = Berthctl({"image", "import", dir_ / "absent"});
  EXPECT_EQ(absent.exit_code, 1);
  EXPECT_THAT(absent.err, StartsWith("berthctl: importing " + (dir_ / "absent") + ": rpc error: "));
  EXPECT_EQ(std::count(absent.err.begin(), absent.err.end(), '\n'), 1) << absent.err;
}

}  // namespace
}  // namespace berth::testing
