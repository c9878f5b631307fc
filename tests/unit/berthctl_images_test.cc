// berthctl's image verbs without a daemon: crictl's size/id/name helpers, the table, verbose,
// inspecti/imagefsinfo renderings, --creds/--auth parsing, --pod-config (JSON and the YAML
// subset), pull progress lines, and flag errors reported before any RPC is made.

#include <algorithm>
#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/app.h"
#include "cli/input/pod_config.h"
#include "cli/input/yaml_subset.h"
#include "cli/verbs/image_import.h"
#include "cli/verbs/image_util.h"
#include "cli/verbs/imagefsinfo.h"
#include "cli/verbs/images.h"
#include "cli/verbs/inspecti.h"
#include "cli/verbs/pull.h"
#include "cli/verbs/pull_progress.h"
#include "tests/support/test_env.h"

namespace berth::cli {
namespace {

using ::runtime::v1::Image;
using ::testing::HasSubstr;
using ::testing::StartsWith;

Image MakeImage(std::string id, std::vector<std::string> tags, std::vector<std::string> digests,
                uint64_t size) {
  Image img;
  img.set_id(std::move(id));
  for (auto& t : tags) img.add_repo_tags(t);
  for (auto& d : digests) img.add_repo_digests(d);
  img.set_size(size);
  return img;
}

const std::string kId = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const std::string kDigest =
    "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

TEST(HumanSizeTest, MatchesGoUnits) {
  // Values checked against docker/go-units HumanSizeWithPrecision.
  EXPECT_EQ(HumanSize(0, 3), "0B");
  EXPECT_EQ(HumanSize(999, 3), "999B");
  EXPECT_EQ(HumanSize(1000, 3), "1kB");
  EXPECT_EQ(HumanSize(1234567, 3), "1.23MB");
  EXPECT_EQ(HumanSize(2'100'000, 3), "2.1MB");
  EXPECT_EQ(HumanSize(51'234'567, 3), "51.2MB");
  EXPECT_EQ(HumanSize(999'500, 3), "1e+03kB");  // as go-units prints it
  EXPECT_EQ(HumanSize(1'234'567'890, 4), "1.235GB");
  EXPECT_EQ(HumanSize(796'000, 4), "796kB");
  EXPECT_EQ(HumanSize(1e27, 3), "1e+03YB");
}

TEST(TruncateIdTest, CutsPrefixAndLength) {
  EXPECT_EQ(TruncateId(kId), "0123456789abc");
  EXPECT_EQ(TruncateId("abc"), "abc");
  EXPECT_EQ(TruncateId("sha512:" + kId.substr(7)), "sha512:012345");  // only sha256: is cut
  EXPECT_EQ(TruncateId("<none>"), "<none>");
}

TEST(RepoNamesTest, SplitsLikeCrictl) {
  EXPECT_EQ(SplitRepoDigest({}), std::make_pair(std::string("<none>"), std::string("<none>")));
  EXPECT_EQ(SplitRepoDigest({"docker.io/library/busybox@" + kDigest}),
            std::make_pair(std::string("docker.io/library/busybox"), kDigest));
  EXPECT_EQ(SplitRepoDigest({"bad"}).first, "errorName");

  auto pairs = RepoTagPairs({"localhost:5000/a/b:v1", "x:latest"}, "ignored");
  ASSERT_EQ(pairs.size(), 2u);
  EXPECT_EQ(pairs[0], std::make_pair(std::string("localhost:5000/a/b"), std::string("v1")));
  EXPECT_EQ(pairs[1], std::make_pair(std::string("x"), std::string("latest")));
  auto untagged = RepoTagPairs({}, "repo");
  ASSERT_EQ(untagged.size(), 1u);
  EXPECT_EQ(untagged[0], std::make_pair(std::string("repo"), std::string("<none>")));
  EXPECT_EQ(RepoTagPairs({"notag"}, "r")[0].first, "errorRepoTag");
  EXPECT_EQ(RepoTagPairs({"<none>:<none>"}, "r")[0].first, "r");
}

TEST(SortImagesTest, ByTagThenDigestThenId) {
  std::vector<Image> images = {MakeImage("sha256:3", {"z:1"}, {}, 1),
                               MakeImage("sha256:2", {"a:1"}, {}, 1),
                               MakeImage("sha256:1", {"m:1"}, {}, 1)};
  SortImagesLikeCrictl(images);
  EXPECT_EQ(images[0].id(), "sha256:2");
  EXPECT_EQ(images[1].id(), "sha256:1");
  EXPECT_EQ(images[2].id(), "sha256:3");
}

TEST(ImagesTableTest, CrictlColumns) {
  std::vector<Image> images = {
      MakeImage(kId, {"docker.io/library/busybox:latest", "docker.io/library/busybox:1.36"},
                {"docker.io/library/busybox@" + kDigest}, 2'100'000),
      MakeImage(kId, {}, {"localhost:5000/x@" + kDigest}, 1234)};
  std::string table = FormatImagesTable(images, {});
  EXPECT_EQ(table,
            "IMAGE                       TAG                 IMAGE ID            SIZE\n"
            "docker.io/library/busybox   latest              0123456789abc       2.1MB\n"
            "docker.io/library/busybox   1.36                0123456789abc       2.1MB\n"
            "localhost:5000/x            <none>              0123456789abc       1.23kB\n");

  std::string wide = FormatImagesTable(images, {true, true, true});
  EXPECT_THAT(wide, StartsWith("IMAGE                       TAG                 DIGEST"));
  EXPECT_THAT(wide, HasSubstr(kDigest + "   " + kId + "   2.1MB               false\n"));
  std::string digests = FormatImagesTable(images, {true, false, false});
  EXPECT_THAT(digests, HasSubstr("   fedcba9876543       0123456789abc       2.1MB\n"));
}

TEST(ImagesTableTest, EmptyListPrintsHeader) {
  EXPECT_EQ(FormatImagesTable({}, {}),
            "IMAGE               TAG                 IMAGE ID            SIZE\n");
}

TEST(ImagesVerboseTest, Fields) {
  Image img = MakeImage(kId, {"a:1"}, {"a@" + kDigest}, 42);
  img.mutable_uid()->set_value(0);
  img.set_username("berth");
  img.set_pinned(true);
  EXPECT_EQ(FormatImagesVerbose({img}),
            "ID: " + kId + "\nRepoTags: a:1\nRepoDigests: a@" + kDigest +
                "\nSize: 42\nUid: value:0\nUsername: berth\nPinned: true\n\n");
}

TEST(FilterImagesTest, DanglingReferenceBeforeSince) {
  std::vector<Image> images = {MakeImage("sha256:aa", {"a:1"}, {"reg/a@" + kDigest}, 1),
                               MakeImage("sha256:bb", {}, {"reg/b@" + kDigest}, 1),
                               MakeImage("sha256:cc", {"c:1"}, {"reg/c@" + kDigest}, 1)};
  auto dangling = FilterImages(images, {"dangling=true"});
  ASSERT_TRUE(dangling.ok());
  ASSERT_EQ(dangling->size(), 1u);
  EXPECT_EQ((*dangling)[0].id(), "sha256:bb");
  auto ref = FilterImages(images, {"reference=reg/[ac]"});
  ASSERT_TRUE(ref.ok());
  EXPECT_EQ(ref->size(), 2u);
  // Images listed before / after the one named (crictl's order is the sorted listing).
  auto since = FilterImages(images, {"since=c:1"});
  ASSERT_TRUE(since.ok());
  ASSERT_EQ(since->size(), 2u);
  EXPECT_EQ((*since)[1].id(), "sha256:bb");
  auto before = FilterImages(images, {"before=a:1"});
  ASSERT_TRUE(before.ok());
  ASSERT_EQ(before->size(), 2u);
  EXPECT_EQ((*before)[0].id(), "sha256:bb");
  auto by_id = FilterImages(images, {"since=bb"});  // no ':': an id prefix, as in crictl
  ASSERT_TRUE(by_id.ok());
  EXPECT_EQ(by_id->size(), 3u) << "crictl compares against the full id, sha256: included";
  EXPECT_FALSE(FilterImages(images, {"bogus=1"}).ok());
  EXPECT_FALSE(FilterImages(images, {"reference=("}).ok());
}

TEST(AuthConfigTest, CredsAndAuth) {
  auto none = BuildAuthConfig({});
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  auto creds = BuildAuthConfig({"user:pa:ss", "", ""});
  ASSERT_TRUE(creds.ok());
  EXPECT_EQ((*creds)->username(), "user");
  EXPECT_EQ((*creds)->password(), "pa:ss");

  auto user_only = BuildAuthConfig({"user", "", ""});
  ASSERT_TRUE(user_only.ok());
  EXPECT_EQ((*user_only)->username(), "user");
  EXPECT_EQ((*user_only)->password(), "");

  auto empty_user = BuildAuthConfig({":secret", "", ""});
  ASSERT_FALSE(empty_user.ok());
  EXPECT_EQ(empty_user.status().message(), "username can't be empty");

  auto both = BuildAuthConfig({"u:p", "dTpw", ""});
  ASSERT_FALSE(both.ok());
  EXPECT_EQ(both.status().message(), "both `--creds` and `--auth` are specified");

  auto auth = BuildAuthConfig({"", "dTpw", ""});
  ASSERT_TRUE(auth.ok());
  EXPECT_EQ((*auth)->auth(), "dTpw");

  auto prompted = BuildAuthConfig({"", "", "alice"}, std::string("pw"));
  ASSERT_TRUE(prompted.ok());
  EXPECT_EQ((*prompted)->username(), "alice");
  EXPECT_EQ((*prompted)->password(), "pw");
}

TEST(KeyValuesTest, Annotations) {
  auto ok = ParseKeyValues({"a=1", "b="});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->at("a"), "1");
  EXPECT_EQ(ok->at("b"), "");
  EXPECT_FALSE(ParseKeyValues({"a"}).ok());
  EXPECT_EQ(ParseKeyValues({"a=b=c"}).status().message(), "incorrectly specified label: a=b=c");
}

TEST(StatusDataTest, InfoEntriesAndLists) {
  google::protobuf::Map<std::string, std::string> info;
  info["info"] = R"({"chainID":"x","imageSpec":{"os":"linux"}})";
  info["plain"] = "\"quoted\"";
  auto entry = StatusDataJson(nlohmann::json{{"id", "sha256:1"}}, info);
  ASSERT_TRUE(entry.ok());
  EXPECT_EQ((*entry)["status"]["id"], "sha256:1");
  EXPECT_EQ((*entry)["info"]["imageSpec"]["os"], "linux");
  EXPECT_EQ((*entry)["plain"], "quoted");
  info["bad"] = "{not json";
  EXPECT_FALSE(StatusDataJson(nlohmann::json::object(), info).ok());

  EXPECT_TRUE(StatusDataList({nlohmann::json{{"a", 1}}}).is_object());
  EXPECT_TRUE(StatusDataList({nlohmann::json{{"a", 1}}, nlohmann::json{{"a", 2}}}).is_array());
}

TEST(InspectiTableTest, Lines) {
  ::runtime::v1::ImageStatusResponse r;
  *r.mutable_image() = MakeImage(kId, {"a:1"}, {"a@" + kDigest}, 1'234'567);
  (*r.mutable_info())["k"] = "v";
  EXPECT_EQ(FormatImageStatusTable(r, true),
            "ID: " + kId + "\nTag: a:1\nDigest: a@" + kDigest + "\nSize: 1.23MB\nInfo: map[k:v]\n");
  EXPECT_EQ(FormatImageStatusTable(r, false).find("Info:"), std::string::npos);
}

TEST(ImageFsInfoTableTest, Blocks) {
  ::runtime::v1::ImageFsInfoResponse r;
  auto* fs = r.add_image_filesystems();
  fs->set_timestamp(1700000000000000000);
  fs->mutable_used_bytes()->set_value(5'242'880);
  fs->mutable_inodes_used()->set_value(321);
  fs->mutable_fs_id()->set_mountpoint("/var/lib/berth/snapshots");
  EXPECT_EQ(FormatImageFsInfoTable(r),
            "Container Filesystem \n"
            "Image Filesystem \n"
            "TimeStamp[0]: 1700000000000000000\n"
            "Disk[0]: 5.243MB\n"
            "Inodes[0]: 321\n"
            "Mountpoint[0]: /var/lib/berth/snapshots\n");
}

TEST(ImportOutputTest, TagsOrId) {
  ::berth::v1::ImportImageResponse r;
  auto* a = r.add_images();
  a->set_id("sha256:1");
  a->add_repo_tags("x:1");
  a->add_repo_tags("x:2");
  r.add_images()->set_id("sha256:2");
  EXPECT_EQ(FormatImportedImages(r),
            "Imported x:1 (sha256:1)\nImported x:2 (sha256:1)\nImported sha256:2\n");
}

TEST(PullProgressTest, Lines) {
  ::berth::v1::LayerProgress layer;
  layer.set_digest(kDigest);
  layer.set_size(2'000'000);
  layer.set_downloaded(1'000'000);
  layer.set_state(::berth::v1::LayerProgress::STATE_DOWNLOADING);
  EXPECT_EQ(ShortLayerId(kDigest), "fedcba987654");
  EXPECT_EQ(LayerBarLine(layer, 10), "fedcba987654: Downloading [=====>    ]  1MB/2MB");
  EXPECT_EQ(LayerPlainLine(layer), "fedcba987654: Downloading (2MB)");
  layer.set_state(::berth::v1::LayerProgress::STATE_DONE);
  EXPECT_EQ(LayerBarLine(layer, 10), "fedcba987654: Done 2MB");
  layer.set_state(::berth::v1::LayerProgress::STATE_WAITING);
  EXPECT_EQ(LayerBarLine(layer, 10), "fedcba987654: Waiting");
}

TEST(PullProgressTest, PlainModePrintsStateChangesOnly) {
  std::ostringstream out;
  ProgressRenderer renderer(out, /*terminal=*/false);
  ::berth::v1::PullProgress p;
  auto* l = p.add_layers();
  l->set_digest(kDigest);
  l->set_size(100);
  l->set_state(::berth::v1::LayerProgress::STATE_DOWNLOADING);
  renderer.Update(p);
  l->set_downloaded(50);
  renderer.Update(p);  // same state: nothing
  l->set_state(::berth::v1::LayerProgress::STATE_DONE);
  renderer.Update(p);
  EXPECT_EQ(out.str(), "fedcba987654: Downloading (100B)\nfedcba987654: Done\n");
}

TEST(PullProgressTest, TerminalModeRedrawsInPlace) {
  std::ostringstream out;
  ProgressRenderer renderer(out, /*terminal=*/true);
  ::berth::v1::PullProgress p;
  auto* l = p.add_layers();
  l->set_digest(kDigest);
  l->set_state(::berth::v1::LayerProgress::STATE_WAITING);
  renderer.Update(p);
  renderer.Update(p);
  EXPECT_EQ(out.str(), "\r\033[Kfedcba987654: Waiting\n\033[1A\r\033[Kfedcba987654: Waiting\n");
}

TEST(YamlSubsetTest, BlockStructures) {
  auto doc = ParseYamlSubset(R"(---
# a pod
metadata:
  name: nginx-sandbox   # trailing comment
  namespace: default
  attempt: 1
  uid: "hdishd83djaidwnduwk28bcsb"
log_directory: /tmp
dns_config: {}
port_mappings:
- container_port: 80
  host_port: 8080
  protocol: TCP
-   container_port: 443
labels:
  app: 'it''s'
list: [a, "b c", 3, [x], {k: v}]
flags:
  - yes
  - ~
  - 1.5
  - -2
  - "#not a comment"
linux:
  security_context:
    namespace_options:
      network: NODE
)",
                             "pod.yaml");
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  const auto& j = *doc;
  EXPECT_EQ(j["metadata"]["name"], "nginx-sandbox");
  EXPECT_EQ(j["metadata"]["attempt"], 1);
  EXPECT_EQ(j["metadata"]["uid"], "hdishd83djaidwnduwk28bcsb");
  EXPECT_EQ(j["log_directory"], "/tmp");
  EXPECT_TRUE(j["dns_config"].is_object());
  ASSERT_EQ(j["port_mappings"].size(), 2u);
  EXPECT_EQ(j["port_mappings"][0]["host_port"], 8080);
  EXPECT_EQ(j["port_mappings"][0]["protocol"], "TCP");
  EXPECT_EQ(j["port_mappings"][1]["container_port"], 443);
  EXPECT_EQ(j["labels"]["app"], "it's");
  EXPECT_EQ(j["list"], nlohmann::json::parse(R"(["a", "b c", 3, ["x"], {"k": "v"}])"));
  EXPECT_EQ(j["flags"], nlohmann::json::parse(R"([true, null, 1.5, -2, "#not a comment"])"));
  EXPECT_EQ(j["linux"]["security_context"]["namespace_options"]["network"], "NODE");
}

TEST(YamlSubsetTest, RefusesWhatItDoesNotUnderstand) {
  for (const char* bad :
       {"a:\n\tb: 1\n", "a: |\n  text\n", "a: &x 1\n", "a: *x\n", "a: 1\na: 2\n", "a: [1,\n 2]\n",
        "a: 1\n   b: 2\n", "a: 1\n---\nb: 2\n", "a: \"unterminated\n"}) {
    auto r = ParseYamlSubset(bad, "f.yaml");
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_THAT(r.status().message(), StartsWith("f.yaml:")) << bad;
    }
  }
}

TEST(PodConfigTest, YamlAndJson) {
  auto yaml = ParsePodSandboxConfig(
      "metadata:\n  name: p\n  namespace: ns\nlog_directory: /tmp/logs\nunknown_key: 1\n"
      "linux:\n  cgroup_parent: /berth\n",
      "pod.yaml");
  ASSERT_TRUE(yaml.ok()) << yaml.status().ToString();
  EXPECT_EQ(yaml->metadata().name(), "p");
  EXPECT_EQ(yaml->log_directory(), "/tmp/logs");
  EXPECT_EQ(yaml->linux().cgroup_parent(), "/berth");
  EXPECT_EQ(yaml->metadata().uid().size(), 36u) << "a generated UUID";

  auto json = ParsePodSandboxConfig(
      R"({"metadata": {"name": "p", "namespace": "ns", "uid": "u1"}, "hostname": "h"})",
      "pod.json");
  ASSERT_TRUE(json.ok()) << json.status().ToString();
  EXPECT_EQ(json->metadata().uid(), "u1");
  EXPECT_EQ(json->hostname(), "h");

  EXPECT_EQ(ParsePodSandboxConfig("hostname: h\n", "p").status().message(), "metadata is not set");
  EXPECT_THAT(ParsePodSandboxConfig("metadata:\n  name: p\n", "p").status().message(),
              StartsWith("name or namespace is not in metadata"));
  EXPECT_FALSE(ParsePodSandboxConfig("metadata:\n  name: [1]\n", "p").ok());
  EXPECT_FALSE(ParsePodSandboxConfig("{\"metadata\": ", "p").ok());
  EXPECT_THAT(LoadPodSandboxConfig("/nonexistent/pod.yaml").status().message(),
              HasSubstr("config at /nonexistent/pod.yaml not found"));
}

// In-process berthctl: flag errors come before any RPC, so no daemon is needed.
class BerthctlImageFlagsTest : public ::testing::Test {
 protected:
  BerthctlImageFlagsTest() {
    config_ = dir_ / "crictl.yaml";
    std::ofstream(config_) << "";
  }

  struct Outcome {
    int code;
    std::string out, err;
  };

  Outcome Berthctl(std::vector<std::string> args, std::map<std::string, std::string> env = {},
                   const std::string& input = "") {
    args.insert(args.begin(), {"berthctl", "-r", "unix://" + (dir_ / "absent.sock")});
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    env["CRI_CONFIG_FILE"] = config_;
    EnvLookup lookup = [&env](const char* name) -> std::optional<std::string> {
      auto it = env.find(name);
      if (it == env.end()) return std::nullopt;
      return it->second;
    };
    std::istringstream in(input);
    std::ostringstream out, err;
    int code =
        RunBerthctl(static_cast<int>(argv.size()), argv.data(), lookup, in, out, err, Terminal{});
    return {code, out.str(), err.str()};
  }

  testing::TempDir dir_;
  std::string config_;
};

TEST_F(BerthctlImageFlagsTest, PullCredentialErrors) {
  Outcome both = Berthctl({"pull", "--creds", "u:p", "--auth", "dTpw", "busybox"});
  EXPECT_EQ(both.code, 1);
  EXPECT_EQ(both.err, "berthctl: both `--creds` and `--auth` are specified\n");

  Outcome empty_user = Berthctl({"pull", "--creds", ":p", "busybox"});
  EXPECT_EQ(empty_user.code, 1);
  EXPECT_EQ(empty_user.err, "berthctl: username can't be empty\n");

  // From the environment, as crictl reads CRICTL_CREDS / CRICTL_AUTH.
  Outcome env = Berthctl({"pull", "busybox"}, {{"CRICTL_CREDS", "u:p"}, {"CRICTL_AUTH", "x"}});
  EXPECT_EQ(env.code, 1);
  EXPECT_EQ(env.err, "berthctl: both `--creds` and `--auth` are specified\n");

  Outcome no_image = Berthctl({"pull"});
  EXPECT_EQ(no_image.code, 1);
  EXPECT_EQ(no_image.err, "berthctl: Image name cannot be empty\n");

  Outcome bad_annotation = Berthctl({"pull", "-a", "novalue", "busybox"});
  EXPECT_EQ(bad_annotation.err, "berthctl: incorrectly specified label: novalue\n");

  Outcome bad_timeout = Berthctl({"pull", "--pull-timeout", "soon", "busybox"});
  EXPECT_EQ(bad_timeout.code, 1);
  EXPECT_THAT(bad_timeout.err, StartsWith("berthctl: --pull-timeout: "));

  Outcome missing_config = Berthctl({"pull", "--pod-config", dir_ / "none.yaml", "busybox"});
  EXPECT_EQ(missing_config.err,
            "berthctl: load podSandboxConfig: config at " + (dir_ / "none.yaml") + " not found\n");
}

TEST_F(BerthctlImageFlagsTest, PullAsksForThePasswordThenReachesTheEndpoint) {
  Outcome r = Berthctl({"pull", "-u", "alice", "busybox"}, {}, "secret\n");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "Enter Password:\n");
  EXPECT_THAT(r.err, StartsWith("berthctl: pulling image: rpc error: code = Unavailable"));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);
}

TEST_F(BerthctlImageFlagsTest, OutputFormatsAndHelp) {
  Outcome bad = Berthctl({"images", "-o", "xml"});
  EXPECT_EQ(bad.code, 1);
  EXPECT_THAT(bad.err, HasSubstr("unsupported output format \"xml\""));
  EXPECT_EQ(Berthctl({"inspecti", "-o", "go-template", "x"}).code, 1);
  EXPECT_EQ(Berthctl({"imagefsinfo", "-o", "wide"}).code, 1);

  // Without arguments crictl shows the verb's help.
  for (const char* verb : {"inspecti", "rmi"}) {
    Outcome help = Berthctl({verb});
    EXPECT_EQ(help.code, 0) << verb;
    EXPECT_THAT(help.out, HasSubstr("Usage:")) << verb;
  }
  Outcome two = Berthctl({"images", "a", "b"});
  EXPECT_EQ(two.code, 0);
  EXPECT_THAT(two.out, HasSubstr("Usage:"));

  // Aliases and the import sub-verb parse.
  for (const char* alias : {"image", "img"}) {
    Outcome r = Berthctl({alias, "--help"});
    EXPECT_EQ(r.code, 0) << alias;
    EXPECT_THAT(r.out, HasSubstr("--digests"));
  }
  Outcome import_help = Berthctl({"image", "import", "--help"});
  EXPECT_EQ(import_help.code, 0);
  EXPECT_THAT(import_help.out, HasSubstr("--name"));
  Outcome import_no_path = Berthctl({"image", "import"});
  EXPECT_EQ(import_no_path.code, 1);
}

TEST_F(BerthctlImageFlagsTest, UnreachableEndpointIsOneLine) {
  for (std::vector<std::string> args : {std::vector<std::string>{"images"},
                                        {"inspecti", "x"},
                                        {"rmi", "x"},
                                        {"imagefsinfo"},
                                        {"image", "import", "/tmp/x.tar"},
                                        {"rmi", "--prune"}}) {
    Outcome r = Berthctl(args);
    EXPECT_EQ(r.code, 1) << args[0];
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'),
              args[0] == "rmi" && args.size() == 2 && args[1] == "x" ? 2 : 1)
        << args[0] << ": " << r.err;
    EXPECT_THAT(r.err, HasSubstr("Unavailable")) << args[0];
  }
}

}  // namespace
}  // namespace berth::cli
