// berthctl's pod and container verbs without a daemon: container/pod config parsing (JSON and
// the YAML subset), crictl's tables, verbose and inspect renderings of made-up responses, Go
// time formats, --since parsing, CRI log parsing and reading (--tail, --timestamps, partial
// lines, --limit-bytes, --stream, follow), ID prefix resolution, and flag errors reported
// before any RPC is made.

#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/app.h"
#include "cli/input/container_config.h"
#include "cli/output/format.h"
#include "cli/verbs/containers.h"
#include "cli/verbs/cri_util.h"
#include "cli/verbs/image_util.h"
#include "cli/verbs/log_reader.h"
#include "cli/verbs/logs.h"
#include "cli/verbs/pods.h"
#include "cli/verbs/stats.h"
#include "tests/support/test_env.h"

namespace berth::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using Clock = std::chrono::system_clock;

constexpr int64_t kSecond = 1000000000;
// 2024-05-01T10:00:00Z
constexpr int64_t kT0 = 1714557600LL * kSecond;

// Go's local zone is the process's; the expectations are written for UTC.
class UtcEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    ::setenv("TZ", "UTC", 1);
    ::tzset();
  }
};
const auto* const kUtc = ::testing::AddGlobalTestEnvironment(new UtcEnvironment);

Clock::time_point At(int64_t unix_nanos) {
  return Clock::time_point(
      std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(unix_nanos)));
}

::runtime::v1::PodSandbox MakePod(std::string id, std::string name, std::string ns, int64_t created,
                                  uint32_t attempt = 0) {
  ::runtime::v1::PodSandbox p;
  p.set_id(std::move(id));
  p.mutable_metadata()->set_name(std::move(name));
  p.mutable_metadata()->set_namespace_(std::move(ns));
  p.mutable_metadata()->set_uid("uid-1");
  p.mutable_metadata()->set_attempt(attempt);
  p.set_created_at(created);
  return p;
}

::runtime::v1::Container MakeContainer(std::string id, std::string name, int64_t created,
                                       std::string image = "busybox:1") {
  ::runtime::v1::Container c;
  c.set_id(std::move(id));
  c.set_pod_sandbox_id("f00dfeedbeef0123456789");
  c.mutable_metadata()->set_name(std::move(name));
  c.mutable_image()->set_image(std::move(image));
  c.set_state(::runtime::v1::CONTAINER_RUNNING);
  c.set_created_at(created);
  (*c.mutable_labels())["io.kubernetes.pod.name"] = "web";
  (*c.mutable_labels())["io.kubernetes.pod.namespace"] = "default";
  return c;
}

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Container configs.

TEST(ContainerConfigTest, ParsesCrictlJson) {
  auto c = ParseContainerConfig(R"({
    "metadata": {"name": "busybox"},
    "image": {"image": "busybox:1.36"},
    "command": ["top"],
    "args": ["-b"],
    "envs": [{"key": "A", "value": "1"}],
    "mounts": [{"container_path": "/data", "host_path": "/tmp", "readonly": true,
                "propagation": 2}],
    "linux": {"resources": {"memory_limit_in_bytes": 67108864, "cpu_shares": 512},
              "security_context": {"namespace_options": {"pid": "CONTAINER"}}},
    "log_path": "busybox.log",
    "unknown_key": {"ignored": true}
  })",
                                "c.json");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->metadata().name(), "busybox");
  EXPECT_EQ(c->image().image(), "busybox:1.36");
  EXPECT_EQ(c->command(0), "top");
  EXPECT_EQ(c->args(0), "-b");
  EXPECT_EQ(c->envs(0).key(), "A");
  EXPECT_EQ(c->mounts(0).container_path(), "/data");
  EXPECT_TRUE(c->mounts(0).readonly());
  EXPECT_EQ(c->mounts(0).propagation(), ::runtime::v1::PROPAGATION_BIDIRECTIONAL);
  EXPECT_EQ(c->linux().resources().memory_limit_in_bytes(), 67108864);
  EXPECT_EQ(c->linux().resources().cpu_shares(), 512);
  EXPECT_EQ(c->linux().security_context().namespace_options().pid(), ::runtime::v1::CONTAINER);
  EXPECT_EQ(c->log_path(), "busybox.log");
}

TEST(ContainerConfigTest, ParsesYamlWithCamelCaseKeys) {
  auto c = ParseContainerConfig(R"(---
metadata:
  name: web
  attempt: 2
image:
  image: localhost/busybox:1
command:
- /bin/sh
- -c
- "echo hello; sleep 1000"
workingDir: /tmp
labels:
  app: web
linux:
  securityContext:
    runAsUser:
      value: 1000
)",
                                "c.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->metadata().name(), "web");
  EXPECT_EQ(c->metadata().attempt(), 2u);
  ASSERT_EQ(c->command_size(), 3);
  EXPECT_EQ(c->command(2), "echo hello; sleep 1000");
  EXPECT_EQ(c->working_dir(), "/tmp");
  EXPECT_EQ(c->labels().at("app"), "web");
  EXPECT_EQ(c->linux().security_context().run_as_user().value(), 1000);
}

TEST(ContainerConfigTest, RefusesWhatCrictlRefuses) {
  auto no_metadata = ParseContainerConfig(R"({"image": {"image": "x"}})", "c.json");
  EXPECT_EQ(no_metadata.status().message(), "metadata is not set");
  auto no_name = ParseContainerConfig("metadata:\n  attempt: 1\n", "c.yaml");
  EXPECT_THAT(no_name.status().message(), StartsWith("name is not in metadata"));
  auto bad_json = ParseContainerConfig("{\"metadata\": ", "c.json");
  EXPECT_EQ(bad_json.status().message(), "c.json: not valid JSON");
  auto wrong_type = ParseContainerConfig(R"({"metadata": {"name": 5}, "command": "x"})", "c.json");
  EXPECT_EQ(wrong_type.status().code(), StatusCode::kInvalidArgument);
  auto list = ParseContainerConfig("- a\n- b\n", "c.yaml");
  EXPECT_THAT(list.status().message(), HasSubstr("expected a runtime.v1.ContainerConfig object"));
  auto missing = LoadContainerConfig("/nonexistent/c.json");
  EXPECT_EQ(missing.status().message(), "config at /nonexistent/c.json not found");
}

// ---------------------------------------------------------------------------------------------
// Tables and renderings.

TEST(PodsOutputTest, TableLikeCrictl) {
  std::vector<::runtime::v1::PodSandbox> pods = {
      MakePod("0123456789abcdef0123", "web", "default", kT0 - 3 * 60 * kSecond, 1)};
  pods[0].set_runtime_handler("runc");
  pods.push_back(MakePod("fedcba9876543210", "db", "prod", kT0 - 30 * kSecond));
  pods[1].set_state(::runtime::v1::SANDBOX_NOTREADY);
  std::string table = FormatPodsTable(pods, false, At(kT0));
  auto lines = Lines(table);
  ASSERT_EQ(lines.size(), 3u) << table;
  EXPECT_EQ(lines[0],
            "POD ID              CREATED             STATE               NAME                "
            "NAMESPACE           ATTEMPT             RUNTIME");
  EXPECT_EQ(lines[1],
            "0123456789abc       3 minutes ago       Ready               web                 "
            "default             1                   runc");
  EXPECT_EQ(lines[2],
            "fedcba9876543       30 seconds ago      NotReady            db                  "
            "prod                0                   (default)");
  EXPECT_THAT(FormatPodsTable(pods, true, At(kT0)), HasSubstr("0123456789abcdef0123   "));
}

TEST(PodsOutputTest, VerboseAndStatusTable) {
  auto pod = MakePod("abc", "web", "default", kT0 + 500000000, 2);
  (*pod.mutable_labels())["b"] = "2";
  (*pod.mutable_labels())["a"] = "1";
  EXPECT_EQ(FormatPodsVerbose({pod}),
            "ID: abc\nName: web\nUID: uid-1\nNamespace: default\nAttempt: 2\nStatus: Ready\n"
            "Created: 2024-05-01 10:00:00.5 +0000 UTC\nLabels:\n\ta -> 1\n\tb -> 2\n"
            "Runtime: (default)\n\n");

  ::runtime::v1::PodSandboxStatusResponse r;
  auto* s = r.mutable_status();
  s->set_id("abc");
  *s->mutable_metadata() = pod.metadata();
  s->set_created_at(kT0);
  s->mutable_network()->set_ip("10.88.0.5");
  s->mutable_network()->add_additional_ips()->set_ip("fd00::5");
  (*s->mutable_annotations())["k"] = "v";
  (*r.mutable_info())["info"] = "{}";
  EXPECT_EQ(FormatPodStatusTable(r, true),
            "ID: abc\nName: web\nUID: uid-1\nNamespace: default\nAttempt: 2\n"
            "Status: SANDBOX_READY\nCreated: 2024-05-01 10:00:00 +0000 UTC\n"
            "IP Addresses: 10.88.0.5\nAdditional IP: fd00::5\nAnnotations:\n\tk -> v\n"
            "Info: map[info:{}]\n");
}

TEST(ContainersOutputTest, TableTruncatesIdsAndDigests) {
  const std::string digest =
      "sha256:1111111111111111111111111111111111111111111111111111111111111111";
  std::vector<::runtime::v1::Container> cs = {
      MakeContainer("c0ffee0123456789abcdef", "server", kT0 - 2 * 3600 * kSecond, digest)};
  cs[0].mutable_metadata()->set_attempt(3);
  auto plain = MakeContainer("d00d", "side", kT0 - 61 * kSecond);
  plain.clear_labels();
  plain.set_state(::runtime::v1::CONTAINER_EXITED);
  cs.push_back(plain);
  auto lines = Lines(FormatContainersTable(cs, false, At(kT0)));
  ASSERT_EQ(lines.size(), 3u);
  // "About a minute ago" is wider than 17 characters: the column grows to it plus 3.
  EXPECT_EQ(lines[0],
            "CONTAINER           IMAGE               CREATED              STATE               "
            "NAME                ATTEMPT             POD ID              POD                 "
            "NAMESPACE");
  EXPECT_EQ(lines[1],
            "c0ffee0123456       1111111111111       2 hours ago          Running             "
            "server              3                   f00dfeedbeef0       web                 "
            "default");
  EXPECT_EQ(lines[2],
            "d00d                busybox:1           About a minute ago   Exited              "
            "side                0                   f00dfeedbeef0       unknown             "
            "unknown");
  EXPECT_THAT(FormatContainersTable(cs, true, At(kT0)), HasSubstr(digest));
}

TEST(ContainersOutputTest, VerboseAndStatusTable) {
  auto c = MakeContainer("c1", "server", kT0 - 5 * kSecond);
  EXPECT_EQ(FormatContainersVerbose({c}, At(kT0)),
            "ID: c1\nPodID: f00dfeedbeef0123456789\nNamespace: default\nName: server\n"
            "Attempt: 0\nState: Running\nImage: busybox:1\nCreated: 5 seconds ago\nLabels:\n"
            "\tio.kubernetes.pod.name -> web\n\tio.kubernetes.pod.namespace -> default\n\n");

  ::runtime::v1::ContainerStatusResponse r;
  auto* s = r.mutable_status();
  s->set_id("c1");
  s->mutable_metadata()->set_name("server");
  s->set_state(::runtime::v1::CONTAINER_EXITED);
  s->set_created_at(kT0 - 3600 * kSecond);
  s->set_started_at(kT0 - 50 * 60 * kSecond);
  s->set_finished_at(kT0 - 2 * kSecond);
  s->set_exit_code(137);
  EXPECT_EQ(FormatContainerStatusTable(r, false, At(kT0)),
            "ID: c1\nName: server\nState: CONTAINER_EXITED\nCreated: About an hour ago\n"
            "Started: 50 minutes ago\nFinished: 2 seconds ago\nExit Code: 137\n");
}

TEST(InspectJsonTest, ContainerStatusShape) {
  ::runtime::v1::ContainerStatus s;
  s.set_id("c1");
  s.mutable_metadata()->set_name("server");
  s.set_state(::runtime::v1::CONTAINER_CREATED);
  s.set_created_at(kT0 + 120000000);
  s.set_log_path("/var/log/pods/x/server/0.log");
  auto json = ContainerStatusJson(s);
  ASSERT_TRUE(json.ok()) << json.status().ToString();
  EXPECT_EQ((*json)["createdAt"], "2024-05-01T10:00:00.12Z");
  EXPECT_EQ((*json)["startedAt"], "0001-01-01T00:00:00Z");
  EXPECT_EQ((*json)["finishedAt"], "0001-01-01T00:00:00Z");
  EXPECT_EQ((*json)["state"], "CONTAINER_CREATED");
  EXPECT_EQ((*json)["exitCode"], 0);
  EXPECT_EQ((*json)["logPath"], "/var/log/pods/x/server/0.log");
  EXPECT_TRUE((*json)["resources"].is_null());
  EXPECT_TRUE((*json)["user"].is_null());
  EXPECT_TRUE((*json)["mounts"].is_array());

  google::protobuf::Map<std::string, std::string> info;
  info["info"] = R"({"pid": 42})";
  auto entry = StatusDataJson(*json, info);
  ASSERT_TRUE(entry.ok());
  std::string text = FormatStructured(StatusDataList({*entry}), OutputFormat::kJson);
  auto parsed = nlohmann::json::parse(text);
  EXPECT_EQ(parsed["status"]["id"], "c1");
  EXPECT_EQ(parsed["info"]["pid"], 42);
  EXPECT_THAT(text, StartsWith("{\n  \"info\": {\n"));

  s.set_state(::runtime::v1::CONTAINER_EXITED);
  s.set_started_at(kT0);
  s.set_finished_at(kT0 + kSecond);
  auto exited = ContainerStatusJson(s);
  EXPECT_EQ((*exited)["startedAt"], "2024-05-01T10:00:00Z");
  EXPECT_EQ((*exited)["finishedAt"], "2024-05-01T10:00:01Z");
}

TEST(InspectJsonTest, PodStatusShapeAndYaml) {
  ::runtime::v1::PodSandboxStatus s;
  s.set_id("p1");
  s.set_created_at(kT0);
  auto json = PodStatusJson(s);
  ASSERT_TRUE(json.ok());
  EXPECT_EQ((*json)["createdAt"], "2024-05-01T10:00:00Z");
  EXPECT_TRUE((*json)["network"].is_null());
  EXPECT_TRUE((*json)["linux"].is_null());
  EXPECT_EQ((*json)["state"], "SANDBOX_READY");
  auto entry = StatusDataJson(*json, {});
  std::string yaml = FormatStructured(StatusDataList({*entry, *entry}), OutputFormat::kYaml);
  EXPECT_THAT(yaml, StartsWith("- status:\n"));
  EXPECT_THAT(yaml, HasSubstr("    id: p1\n"));

  ::runtime::v1::ListPodSandboxResponse list;
  *list.add_items() = MakePod("p1", "web", "default", kT0);
  auto list_json = MessageToJson(list);
  ASSERT_TRUE(list_json.ok());
  EXPECT_EQ((*list_json)["items"][0]["createdAt"], std::to_string(kT0));
  EXPECT_EQ((*list_json)["items"][0]["metadata"]["namespace"], "default");
}

TEST(TimeFormatTest, GoSpellings) {
  EXPECT_EQ(FormatRfc3339NanoAt(kT0, 0), "2024-05-01T10:00:00Z");
  EXPECT_EQ(FormatRfc3339NanoAt(kT0 + 123456789, 0), "2024-05-01T10:00:00.123456789Z");
  EXPECT_EQ(FormatRfc3339NanoAt(kT0 + 100, 2 * 3600), "2024-05-01T12:00:00.0000001+02:00");
  EXPECT_EQ(FormatRfc3339NanoAt(kT0, -(5 * 3600 + 30 * 60)), "2024-05-01T04:30:00-05:30");
  EXPECT_EQ(FormatRfc3339Nano(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatGoTime(kT0 + 1000), "2024-05-01 10:00:00.000001 +0000 UTC");
}

TEST(TimeFormatTest, HumanDurationLikeGoUnits) {
  using std::chrono::seconds;
  EXPECT_EQ(HumanDuration(std::chrono::milliseconds(300)), "Less than a second");
  EXPECT_EQ(HumanDuration(seconds(1)), "1 second");
  EXPECT_EQ(HumanDuration(seconds(59)), "59 seconds");
  EXPECT_EQ(HumanDuration(seconds(60)), "About a minute");
  EXPECT_EQ(HumanDuration(seconds(150)), "2 minutes");
  EXPECT_EQ(HumanDuration(seconds(3600)), "About an hour");
  EXPECT_EQ(HumanDuration(seconds(3 * 3600)), "3 hours");
  EXPECT_EQ(HumanDuration(seconds(3 * 86400)), "3 days");
  EXPECT_EQ(HumanDuration(seconds(20 * 86400)), "2 weeks");
  EXPECT_EQ(HumanDuration(seconds(90 * 86400)), "3 months");
  EXPECT_EQ(HumanDuration(seconds(800 * 86400)), "2 years");
  EXPECT_EQ(Ago(kT0 - 5 * kSecond, At(kT0)), "5 seconds ago");
}

TEST(ListFilterTest, SelectPodsAndContainers) {
  std::vector<::runtime::v1::PodSandbox> pods = {MakePod("a", "web-1", "default", 1),
                                                 MakePod("b", "web-2", "prod", 3),
                                                 MakePod("c", "db", "default", 2)};
  auto newest = SelectPods(pods, {});
  ASSERT_EQ(newest.size(), 3u);
  EXPECT_EQ(newest[0].id(), "b");
  EXPECT_EQ(newest[2].id(), "a");
  EXPECT_EQ(SelectPods(pods, {"^web", "", false, 0}).size(), 2u);
  EXPECT_EQ(SelectPods(pods, {"", "default", false, 0}).size(), 2u);
  auto latest = SelectPods(pods, {"", "", true, 0});
  ASSERT_EQ(latest.size(), 1u);
  EXPECT_EQ(latest[0].id(), "b");
  EXPECT_EQ(SelectPods(pods, {"", "", false, 2}).size(), 2u);
  EXPECT_EQ(SelectPods(pods, {"(", "", false, 0}).size(), 0u) << "invalid regex matches nothing";

  std::vector<::runtime::v1::Container> cs = {MakeContainer("1", "a", 5),
                                              MakeContainer("2", "b", 9)};
  auto selected = SelectContainers(cs, {"", "^default$", true, 0});
  ASSERT_EQ(selected.size(), 1u);
  EXPECT_EQ(selected[0].id(), "2");
  EXPECT_TRUE(SelectContainers(cs, {"", "prod", false, 0}).empty());
}

TEST(ListFilterTest, StatesAndLabels) {
  EXPECT_EQ(*ParsePodState("NotReady"), ::runtime::v1::SANDBOX_NOTREADY);
  EXPECT_EQ(ParsePodState("gone").status().message(), "--state should be ready or notready");
  EXPECT_EQ(*ParseContainerState("EXITED"), ::runtime::v1::CONTAINER_EXITED);
  EXPECT_EQ(ParseContainerState("x").status().message(),
            "--state should be one of created, running, exited or unknown");
  auto labels = ParseLabelSelector({"a=1", "b="});
  ASSERT_TRUE(labels.ok());
  EXPECT_EQ(labels->at("b"), "");
  EXPECT_EQ(ParseLabelSelector({"a=1=2"}).status().message(), "incorrectly specified label: a=1=2");
  EXPECT_TRUE(IsDigest("sha256:" + std::string(64, 'a')));
  EXPECT_FALSE(IsDigest("sha256:" + std::string(63, 'a')));
  EXPECT_FALSE(IsDigest("busybox:1"));
}

TEST(IdPrefixTest, Resolution) {
  std::vector<std::string> ids = {"abc123", "abd456", "abc"};
  EXPECT_EQ(*ResolveIdPrefix("abc", ids, "pod"), "abc") << "an exact match wins";
  EXPECT_EQ(*ResolveIdPrefix("abd", ids, "pod"), "abd456");
  auto ambiguous = ResolveIdPrefix("ab", ids, "container");
  EXPECT_EQ(ambiguous.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(ambiguous.status().message(), HasSubstr("ambiguous"));
  EXPECT_EQ(ResolveIdPrefix("zz", ids, "pod").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ResolveIdPrefix("", ids, "pod").status().message(), "ID cannot be empty");
}

TEST(StatsOutputTest, CpuPercentFromTwoSamples) {
  auto sample = [](int64_t ts, uint64_t cpu, uint64_t mem) {
    ::runtime::v1::ListContainerStatsResponse r;
    auto* s = r.add_stats();
    s->mutable_attributes()->set_id("0123456789abcdef");
    s->mutable_attributes()->mutable_metadata()->set_name("server");
    s->mutable_cpu()->set_timestamp(ts);
    s->mutable_cpu()->mutable_usage_core_nano_seconds()->set_value(cpu);
    s->mutable_memory()->mutable_working_set_bytes()->set_value(mem);
    s->mutable_writable_layer()->mutable_used_bytes()->set_value(4096);
    s->mutable_writable_layer()->mutable_inodes_used()->set_value(7);
    auto* idle = r.add_stats();
    idle->mutable_attributes()->set_id("ffff");
    return r;
  };
  auto table = FormatContainerStatsTable(sample(kSecond, 1000, 2000000),
                                         sample(2 * kSecond, 250001000, 2000000), false);
  ASSERT_TRUE(table.ok());
  auto lines = Lines(*table);
  ASSERT_EQ(lines.size(), 2u) << *table;
  EXPECT_EQ(lines[0],
            "CONTAINER           NAME                CPU %               MEM                 "
            "DISK                INODES              SWAP");
  EXPECT_EQ(lines[1],
            "0123456789abc       server              25.00               2MB                 "
            "4.096kB             7                   0B");
  auto all = FormatContainerStatsTable(sample(kSecond, 1, 1), sample(2 * kSecond, 2, 1), true);
  EXPECT_EQ(Lines(*all).size(), 3u);
  auto stale = FormatContainerStatsTable(sample(kSecond, 1, 1), sample(kSecond, 2, 1), false);
  EXPECT_EQ(stale.status().message(), "cpu stat is not updated during sample");

  ::runtime::v1::ListPodSandboxStatsResponse before, after;
  for (auto* r : {&before, &after}) {
    auto* s = r->add_stats();
    s->mutable_attributes()->set_id("podid0123456789");
    s->mutable_attributes()->mutable_metadata()->set_name("web");
    s->mutable_linux()->mutable_memory()->mutable_working_set_bytes()->set_value(1500);
  }
  before.mutable_stats(0)->mutable_linux()->mutable_cpu()->set_timestamp(0);
  before.mutable_stats(0)
      ->mutable_linux()
      ->mutable_cpu()
      ->mutable_usage_core_nano_seconds()
      ->set_value(10);
  after.mutable_stats(0)->mutable_linux()->mutable_cpu()->set_timestamp(kSecond);
  after.mutable_stats(0)
      ->mutable_linux()
      ->mutable_cpu()
      ->mutable_usage_core_nano_seconds()
      ->set_value(kSecond / 2 + 10);
  auto pods = FormatPodStatsTable(before, after);
  ASSERT_TRUE(pods.ok());
  EXPECT_EQ(Lines(*pods)[1], "web                 podid01234567       50.00               1.5kB");
}

// ---------------------------------------------------------------------------------------------
// Logs.

TEST(LogParseTest, CriLines) {
  auto full = ParseCriLogLine("2024-05-01T10:00:00.5Z stdout F hello world\n");
  ASSERT_TRUE(full.ok()) << full.status().ToString();
  EXPECT_EQ(full->unix_nanos, kT0 + 500000000);
  EXPECT_FALSE(full->is_stderr);
  EXPECT_FALSE(full->partial);
  EXPECT_EQ(full->content, "hello world\n");
  auto partial = ParseCriLogLine("2024-05-01T12:00:00+02:00 stderr P:x part\n");
  ASSERT_TRUE(partial.ok());
  EXPECT_EQ(partial->unix_nanos, kT0);
  EXPECT_EQ(partial->offset_seconds, 7200);
  EXPECT_TRUE(partial->is_stderr);
  EXPECT_TRUE(partial->partial);
  EXPECT_EQ(partial->content, "part");
  EXPECT_EQ(ParseCriLogLine("nospace").status().message(), "timestamp is not found");
  EXPECT_EQ(ParseCriLogLine("2024-05-01T10:00:00Z stdin F x").status().message(),
            "unexpected stream type \"stdin\"");
  EXPECT_EQ(ParseCriLogLine("2024-05-01T10:00:00Z stdout").status().message(),
            "stream type is not found");
  EXPECT_EQ(ParseCriLogLine("2024-05-01T10:00:00Z stdout F").status().message(),
            "log tag is not found");
  EXPECT_THAT(ParseCriLogLine("yesterday stdout F x").status().message(),
              StartsWith("unexpected timestamp format"));
}

TEST(LogParseTest, Since) {
  const auto now = At(kT0 + 250000000);
  EXPECT_EQ(*ParseSince("42m", now), kT0 - 42 * 60 * kSecond);
  EXPECT_EQ(*ParseSince("1h30m", now), kT0 - 90 * 60 * kSecond);
  EXPECT_EQ(*ParseSince("1700000000", now), 1700000000LL * kSecond);
  EXPECT_EQ(*ParseSince("1700000000.5", now), 1700000000LL * kSecond + 500000000);
  EXPECT_EQ(*ParseSince("2024-05-01T10:00:00Z", now), kT0);
  EXPECT_EQ(*ParseSince("2024-05-01T12:00:00.25+02:00", now), kT0 + 250000000);
  EXPECT_EQ(*ParseSince("2024-05-01T10:00:00", now), kT0) << "local time (UTC here)";
  EXPECT_EQ(*ParseSince("2024-05-01T10:30", now), kT0 + 30 * 60 * kSecond);
  EXPECT_EQ(*ParseSince("2024-05-01", now), kT0 - 10 * 3600 * kSecond);
  EXPECT_FALSE(ParseSince("soon", now).ok());
  EXPECT_FALSE(ParseSince("2024-13-01", now).ok());
}

class LogReadTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& content) {
    std::string path = dir_ / "0.log";
    std::ofstream(path, std::ios::trunc) << content;
    return path;
  }
  struct Read {
    Status status;
    std::string out, err, notes;
  };
  Read ReadLog(const std::string& path, const LogReadOptions& o) {
    std::ostringstream out, err, notes;
    Status s = ReadCriLog(path, o, out, err, notes);
    return {s, out.str(), err.str(), notes.str()};
  }
  testing::TempDir dir_;
};

constexpr char kLog[] =
    "2024-05-01T10:00:00Z stdout F one\n"
    "2024-05-01T10:00:01.5Z stderr F two\n"
    "garbage line\n"
    "2024-05-01T10:00:02Z stdout P thr\n"
    "2024-05-01T10:00:03Z stdout F ee\n"
    "2024-05-01T10:00:04.000000000Z stdout F four\n";

TEST_F(LogReadTest, AllStreamsTimestampsAndPartials) {
  std::string path = Write(kLog);
  Read all = ReadLog(path, {});
  ASSERT_TRUE(all.status.ok()) << all.status.ToString();
  EXPECT_EQ(all.out, "one\nthree\nfour\n");
  EXPECT_EQ(all.err, "two\n");
  EXPECT_THAT(all.notes, HasSubstr("failed when parsing line"));

  LogReadOptions ts;
  ts.timestamps = true;
  Read stamped = ReadLog(path, ts);
  EXPECT_EQ(stamped.out,
            "2024-05-01T10:00:00Z one\n2024-05-01T10:00:02Z three\n2024-05-01T10:00:04Z four\n")
      << "a continued partial line gets no second timestamp";
  EXPECT_EQ(stamped.err, "2024-05-01T10:00:01.5Z two\n");
}

TEST_F(LogReadTest, TailSinceLimitAndStream) {
  std::string path = Write(kLog);
  LogReadOptions tail;
  tail.tail = 2;
  EXPECT_EQ(ReadLog(path, tail).out, "ee\nfour\n");
  tail.tail = 0;
  EXPECT_EQ(ReadLog(path, tail).out, "");
  tail.tail = 100;
  EXPECT_EQ(ReadLog(path, tail).out, "one\nthree\nfour\n");

  LogReadOptions since;
  since.since_nanos = kT0 + 2 * kSecond;
  Read s = ReadLog(path, since);
  EXPECT_EQ(s.out, "three\nfour\n");
  EXPECT_EQ(s.err, "");

  LogReadOptions limit;
  limit.limit_bytes = 6;
  EXPECT_EQ(ReadLog(path, limit).out, "one\n");
  EXPECT_EQ(ReadLog(path, limit).err, "tw");

  LogReadOptions only_err;
  only_err.stdout_stream = false;
  Read e = ReadLog(path, only_err);
  EXPECT_EQ(e.out, "");
  EXPECT_EQ(e.err, "two\n");

  Read missing = ReadLog(dir_ / "absent.log", {});
  EXPECT_EQ(missing.status.code(), StatusCode::kNotFound);
  EXPECT_THAT(missing.status.message(), HasSubstr("failed to open log file"));
}

TEST_F(LogReadTest, FollowEndsWhenTheContainerStops) {
  std::string path = Write("2024-05-01T10:00:00Z stdout F one\n");
  LogReadOptions follow;
  follow.follow = true;
  follow.poll_interval = std::chrono::milliseconds(20);
  int checks = 0;
  follow.still_running = [&] {
    // Written while following; read before the follow ends.
    std::ofstream(path, std::ios::app) << "2024-05-01T10:00:01Z stdout F two\n";
    return ++checks < 2;
  };
  Read r = ReadLog(path, follow);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.out, "one\ntwo\ntwo\n");
  EXPECT_EQ(checks, 2);
}

TEST_F(LogReadTest, TailOffsets) {
  std::string path = Write("a\nb\nc\n");
  int fd = ::open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(*TailStartOffset(fd, -1), 0);
  EXPECT_EQ(*TailStartOffset(fd, 0), 6);
  EXPECT_EQ(*TailStartOffset(fd, 1), 4);
  EXPECT_EQ(*TailStartOffset(fd, 3), 0);
  EXPECT_EQ(*TailStartOffset(fd, 10), 0);
  ::close(fd);
  EXPECT_EQ(PreviousLogPath("/var/log/pods/p/c/2.log", 2), "/var/log/pods/p/c/1.log");
}

// ---------------------------------------------------------------------------------------------
// Flag errors: reported before any RPC (the endpoint does not exist).

class BerthctlPodsFlagsTest : public ::testing::Test {
 protected:
  BerthctlPodsFlagsTest() {
    config_ = dir_ / "crictl.yaml";
    std::ofstream(config_) << "";
  }
  struct Outcome {
    int code;
    std::string out, err;
  };
  Outcome Berthctl(std::vector<std::string> args) {
    args.insert(args.begin(), {"berthctl", "-r", "unix://" + (dir_ / "absent.sock")});
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    std::map<std::string, std::string> env = {{"CRI_CONFIG_FILE", config_}};
    EnvLookup lookup = [&env](const char* name) -> std::optional<std::string> {
      auto it = env.find(name);
      if (it == env.end()) return std::nullopt;
      return it->second;
    };
    std::istringstream in;
    std::ostringstream out, err;
    int code =
        RunBerthctl(static_cast<int>(argv.size()), argv.data(), lookup, in, out, err, Terminal{});
    return {code, out.str(), err.str()};
  }
  testing::TempDir dir_;
  std::string config_;
};

TEST_F(BerthctlPodsFlagsTest, ErrorsBeforeAnyRpc) {
  auto xml = Berthctl({"pods", "-o", "xml"});
  EXPECT_EQ(xml.code, 1);
  EXPECT_EQ(xml.err,
            "berthctl: listing pod sandboxes: unsupported output format \"xml\" (use one of: json, "
            "yaml, table)\n");
  auto state = Berthctl({"ps", "--state", "sleeping"});
  EXPECT_EQ(state.code, 1);
  EXPECT_EQ(state.err,
            "berthctl: listing containers: --state should be one of created, running, exited or "
            "unknown\n");
  auto pulls = Berthctl({"create", "--no-pull", "--with-pull", "p", "c.json", "p.json"});
  EXPECT_EQ(pulls.err, "berthctl: conflict: no-pull and with-pull are both set\n");
  auto stream = Berthctl({"logs", "--tail", "1", "--stream", "stdout", "c1"});
  EXPECT_EQ(stream.err, "berthctl: --tail and --stream are mutually exclusive\n");
  auto bad_stream = Berthctl({"logs", "--stream", "both", "c1"});
  EXPECT_EQ(bad_stream.err,
            "berthctl: invalid stream \"both\", must be \"stdout\" or \"stderr\"\n");
  auto since = Berthctl({"logs", "--since", "whenever", "c1"});
  EXPECT_EQ(since.code, 1);
  EXPECT_THAT(since.err, HasSubstr("failed to parse value as time or duration"));
  auto stop_all = Berthctl({"stop", "-a", "c1"});
  EXPECT_EQ(stop_all.err, "berthctl: cannot specify CONTAINER-ID(s) when using --all\n");
  auto no_ids = Berthctl({"start"});
  EXPECT_EQ(no_ids.err, "berthctl: ID cannot be empty\n");
  // Streaming exec: flags are checked before any RPC (crictl's messages).
  auto transport = Berthctl({"exec", "--transport", "smoke", "c1", "sh"});
  EXPECT_EQ(transport.code, 1);
  EXPECT_EQ(transport.err, "berthctl: unknown transport \"smoke\", want spdy or websocket\n");
  auto tty = Berthctl({"exec", "-t", "c1", "sh"});
  EXPECT_EQ(tty.err, "berthctl: tty=true must be specified with interactive=true\n");
  auto no_terminal = Berthctl({"exec", "-it", "c1", "sh"});
  EXPECT_EQ(no_terminal.err, "berthctl: input is not a terminal\n");
  auto attach_tty = Berthctl({"attach", "-t", "c1"});
  EXPECT_EQ(attach_tty.err, "berthctl: tty=true must be specified with interactive=true\n");
  auto ports = Berthctl({"port-forward", "p1", "80:x"});
  EXPECT_EQ(ports.err, "berthctl: invalid port \"x\" in \"80:x\"\n");
  auto config = Berthctl({"runp", dir_ / "missing.json"});
  EXPECT_EQ(config.err, "berthctl: load podSandboxConfig: config at " + (dir_ / "missing.json") +
                            " not found\n");
  auto label = Berthctl({"pods", "--label", "novalue"});
  EXPECT_EQ(label.err, "berthctl: listing pod sandboxes: incorrectly specified label: novalue\n");
}

TEST_F(BerthctlPodsFlagsTest, HelpWhenArgumentsAreMissing) {
  auto runp = Berthctl({"runp"});
  EXPECT_EQ(runp.code, 0);
  EXPECT_THAT(runp.out, HasSubstr("Run a new pod"));
  auto create = Berthctl({"create", "only-one"});
  EXPECT_EQ(create.code, 0);
  EXPECT_THAT(create.out, HasSubstr("Create a new container"));
  auto exec = Berthctl({"exec", "-s", "c1"});
  EXPECT_EQ(exec.code, 0);
  EXPECT_THAT(exec.out, HasSubstr("Run a command in a running container"));
}

TEST_F(BerthctlPodsFlagsTest, UnreachableRuntimeIsReported) {
  auto pods = Berthctl({"pods"});
  EXPECT_EQ(pods.code, 1);
  EXPECT_THAT(pods.err, StartsWith("berthctl: listing pod sandboxes: call list sandboxes RPC: "
                                   "rpc error: code = Unavailable"));
  auto exec = Berthctl({"exec", "-s", "c1", "ls", "-l"});
  EXPECT_EQ(exec.code, 1);
  EXPECT_THAT(exec.err, StartsWith("berthctl: execing command in container c1 synchronously: "
                                   "rpc error: code = Unavailable"));
}

}  // namespace
}  // namespace berth::cli
