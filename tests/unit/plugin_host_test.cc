// PluginHost against real plugin libraries (tests/fixtures/plugins): which load, which are
// rejected and why, creation and teardown order, calls, events, logs, threads.

#include "cri/plugin_host/plugin_host.h"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "berth/plugin/v1/network.pb.h"
#include "berth/plugin/v1/runtime.pb.h"
#include "berth/plugin/v1/snapshotter.pb.h"
#include "tests/support/test_env.h"

namespace berth {
namespace {

namespace v1 = ::berth::plugin::v1;
using ::testing::AnyOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kPluginDir[] = BERTH_TEST_PLUGIN_DIR;
constexpr char kNetwork[] = BERTH_PLUGIN_TYPE_NETWORK;
constexpr char kRuntime[] = BERTH_PLUGIN_TYPE_RUNTIME;
constexpr char kSnapshotter[] = BERTH_PLUGIN_TYPE_SNAPSHOTTER;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

class PluginHostTest : public ::testing::Test {
 protected:
  PluginHostTest()
      : logger_(LogLevel::kDebug, [this](std::string_view line) {
          std::lock_guard lock(log_mu_);
          log_.append(line);
        }) {}

  nlohmann::json Config() const {
    return {
        {"tmpdir", {{"root", tmp_ / "snapshots"}, {"trace", trace_}}},
        {"io.berth.runtime.v1/fixture-runtime", {{"trace", trace_}}},
        {"fixture-runtime", {{"trace", "/wrong: the type/name key wins"}}},
        {"echo", {{"trace", trace_}, {"greeting", "hi"}}},
        {"not-installed", nlohmann::json::object()},
    };
  }

  std::unique_ptr<PluginHost> LoadFixtures() {
    auto host = std::make_unique<PluginHost>(logger_, Config());
    host->LoadAll({kPluginDir});
    return host;
  }

  std::string Log() {
    std::lock_guard lock(log_mu_);
    return log_;
  }

  testing::TempDir tmp_;
  std::string trace_ = tmp_ / "trace";
  std::mutex log_mu_;
  std::string log_;
  Logger logger_;
};

// The record of the library file `file` (e.g. "echo.so").
PluginRecord RecordOf(const PluginHost& host, const std::string& file) {
  for (const PluginRecord& r : host.List()) {
    if (r.path == std::string(kPluginDir) + "/" + file) return r;
  }
  ADD_FAILURE() << "no record for " << file;
  return {};
}

TEST_F(PluginHostTest, GoodPluginsLoad) {
  auto host = LoadFixtures();
  for (const char* file :
       {"echo.so", "fixture-runtime.so", "tmpdir.so", "thrower.so", "raw_c.so"}) {
    PluginRecord r = RecordOf(*host, file);
    EXPECT_EQ(r.status, "ok") << file << ": " << r.error;
    EXPECT_EQ(r.error, "") << file;
  }
  PluginRecord echo = RecordOf(*host, "echo.so");
  EXPECT_EQ(echo.type, kNetwork);
  EXPECT_EQ(echo.name, "echo");
  EXPECT_EQ(echo.version, "1.0.0");
  EXPECT_THAT(echo.requirements, ElementsAre("io.berth.runtime.v1/fixture-runtime"));
  EXPECT_NE(host->Find(kNetwork, "echo"), nullptr);
  EXPECT_NE(host->Find(kSnapshotter, "tmpdir"), nullptr);
  EXPECT_NE(host->Find(kNetwork, "raw-c"), nullptr);
  EXPECT_EQ(host->Find(kRuntime, "echo"), nullptr);  // right name, wrong type
  ASSERT_EQ(host->FindAll(kRuntime).size(), 1u);
  EXPECT_EQ(host->FindAll(kRuntime)[0]->name(), "fixture-runtime");
  // Every *.so in the directory has a record, in file name order.
  std::vector<std::string> files;
  for (const PluginRecord& r : host->List()) files.push_back(r.path.substr(r.path.rfind('/') + 1));
  EXPECT_EQ(files.size(), 17u);
  EXPECT_TRUE(std::is_sorted(files.begin(), files.end()));
}

TEST_F(PluginHostTest, BadPluginsAreRejectedWithClearErrors) {
  auto host = LoadFixtures();
  struct Case {
    const char* file;
    std::string error;  // a substring of the record's error
  };
  const std::string dir = kPluginDir;
  const Case cases[] = {
      {"no_entry.so", "not a berth plugin: no exported berth_plugin_entry symbol"},
      {"not_elf.so", "cannot load library: " + dir + "/not_elf.so: "},
      {"bad_abi.so", "plugin ABI version 999 is not supported (berthd speaks version 1)"},
      {"short_struct.so", "descriptor struct_size 8 is smaller than ABI version 1's 56"},
      {"unknown_type.so",
       "unknown plugin type \"io.berth.toaster.v1\" (known: "
       "io.berth.runtime.v1, io.berth.snapshotter.v1, io.berth.network.v1)"},
      {"echo_copy.so",
       "duplicate plugin io.berth.network.v1/echo: already loaded from " + dir + "/echo.so"},
      {"create_fails.so", "create failed: fixture refuses to start"},
      {"init_throws.so", "create failed: Init: uncaught exception: config exploded"},
      {"needs_failed.so", "requires io.berth.network.v1/create-fails, which could not be loaded"},
      {"missing_dep.so", "requires io.berth.runtime.v1/nonexistent, which is not loaded"},
      {"cycle_a.so",
       "dependency cycle: io.berth.network.v1/cycle-a -> "
       "io.berth.network.v1/cycle-b -> io.berth.network.v1/cycle-a"},
      {"cycle_b.so",
       "dependency cycle: io.berth.network.v1/cycle-b -> "
       "io.berth.network.v1/cycle-a -> io.berth.network.v1/cycle-b"},
  };
  std::string log = Log();
  for (const Case& c : cases) {
    PluginRecord r = RecordOf(*host, c.file);
    EXPECT_EQ(r.status, "error") << c.file;
    EXPECT_THAT(r.error, HasSubstr(c.error)) << c.file;
    // Logged at error level with path, name and error.
    std::string logged;
    for (const std::string& line : Lines(log)) {
      if (line.find("path=" + r.path) != std::string::npos &&
          line.find("level=error") != std::string::npos) {
        logged = line;
      }
    }
    EXPECT_THAT(logged, HasSubstr("name=")) << c.file;
    EXPECT_THAT(logged, HasSubstr("error=")) << c.file;
    EXPECT_THAT(logged, HasSubstr(c.file)) << c.file;
    if (!r.name.empty() && r.name != "echo") {
      EXPECT_EQ(host->Find(r.type, r.name), nullptr) << c.file;
    }
  }
  EXPECT_THAT(RecordOf(*host, "not_elf.so").error,
              AnyOf(HasSubstr("invalid ELF header"), HasSubstr("file too short")));
  // The duplicate does not replace the original.
  EXPECT_EQ(host->Find(kNetwork, "echo")->version(), "1.0.0");
  EXPECT_THAT(log, HasSubstr("configuration for a plugin that is not installed"));
  EXPECT_THAT(log, HasSubstr("plugin=not-installed"));
}

TEST_F(PluginHostTest, CreatesInDependencyOrderAndDestroysInReverseBeforeUnloading) {
  auto host = LoadFixtures();
  // Discovery order is echo, fixture-runtime, tmpdir (file names); requirements reverse it.
  EXPECT_THAT(Lines(ReadAll(trace_)),
              ElementsAre("create tmpdir", "create fixture-runtime", "create echo"));
  host.reset();
  EXPECT_THAT(Lines(ReadAll(trace_)),
              ElementsAre("create tmpdir", "create fixture-runtime", "create echo", "destroy echo",
                          "destroy fixture-runtime", "destroy tmpdir", "unload tmpdir",
                          "unload fixture-runtime", "unload echo"));
  // dlclose really unmapped them.
  EXPECT_THAT(ReadAll("/proc/self/maps"), Not(HasSubstr(kPluginDir)));
}

TEST_F(PluginHostTest, EachInstanceGetsItsOwnDirectories) {
  nlohmann::json config = Config();
  config["echo"]["report_dirs"] = true;
  PluginHost host(logger_, config, tmp_ / "root", tmp_ / "state");
  host.LoadAll({kPluginDir});
  PluginHandle* echo = host.Find(kNetwork, "echo");
  ASSERT_NE(echo, nullptr);
  v1::NetworkStatusResponse status;
  ASSERT_TRUE(echo->Invoke("Status", v1::NetworkStatusRequest(), &status).ok());
  std::string root = tmp_ / "root/plugins/io.berth.network.v1/echo";
  std::string state = tmp_ / "state/plugins/io.berth.network.v1/echo";
  EXPECT_EQ(status.message(), root + "|" + state);
  for (const std::string& dir : {root, state}) {
    struct stat st {};
    ASSERT_EQ(::stat(dir.c_str(), &st), 0) << dir;
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0700u) << dir;
  }
}

TEST_F(PluginHostTest, InvokeRoundTripsMessages) {
  auto host = LoadFixtures();
  PluginHandle* echo = host->Find(kNetwork, "echo");
  ASSERT_NE(echo, nullptr);

  v1::NetworkStatusResponse status;
  ASSERT_TRUE(echo->Invoke("Status", v1::NetworkStatusRequest(), &status).ok());
  EXPECT_TRUE(status.ready());
  // The plugin got its own config section, as JSON text.
  EXPECT_EQ(nlohmann::json::parse(status.message()), Config()["echo"]);

  v1::SetupNetworkRequest setup;
  setup.mutable_pod()->set_pod_id("pod-1234");
  v1::SetupNetworkResponse setup_resp;
  ASSERT_TRUE(echo->Invoke("Setup", setup, &setup_resp).ok());
  ASSERT_EQ(setup_resp.ips_size(), 1);
  EXPECT_EQ(setup_resp.ips(0).address(), "10.88.0.8/24");

  // Plugin errors keep their code and message, with the plugin and method named.
  Status s = echo->Invoke("Setup", v1::SetupNetworkRequest(), &setup_resp);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "io.berth.network.v1/echo Setup: pod.pod_id is empty");
  s = echo->Invoke("Frobnicate", v1::SetupNetworkRequest(), nullptr);
  EXPECT_EQ(s.code(), StatusCode::kUnimplemented);
  EXPECT_THAT(s.message(), HasSubstr("io.berth.network.v1 has no method \"Frobnicate\""));
  s = echo->Invoke("GC", v1::NetworkGCRequest(), nullptr);
  EXPECT_EQ(s.code(), StatusCode::kUnimplemented);
  EXPECT_THAT(s.message(), HasSubstr("GC is not implemented by this plugin"));
  auto raw = echo->InvokeRaw("Setup", std::string("\xff\xff\xff", 3));
  EXPECT_EQ(raw.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(raw.status().message(), HasSubstr("not a valid berth.plugin.v1.SetupNetworkRequest"));

  // A plugin in bare C answers the same way.
  PluginHandle* raw_c = host->Find(kNetwork, "raw-c");
  ASSERT_NE(raw_c, nullptr);
  status.Clear();
  ASSERT_TRUE(raw_c->Invoke("Status", v1::NetworkStatusRequest(), &status).ok());
  EXPECT_TRUE(status.ready());
  s = raw_c->Invoke("Setup", setup, nullptr);
  EXPECT_EQ(s.code(), StatusCode::kUnimplemented);
  EXPECT_EQ(s.message(), "io.berth.network.v1/raw-c Setup: raw-c only knows Status");
}

TEST_F(PluginHostTest, SnapshotterFixtureWorks) {
  auto host = LoadFixtures();
  PluginHandle* snap = host->Find(kSnapshotter, "tmpdir");
  ASSERT_NE(snap, nullptr);

  v1::PrepareSnapshotRequest prep;
  prep.set_key("base");
  v1::PrepareSnapshotResponse mounts;
  ASSERT_TRUE(snap->Invoke("Prepare", prep, &mounts).ok());
  ASSERT_EQ(mounts.mounts_size(), 1);
  EXPECT_EQ(mounts.mounts(0).type(), "bind");
  EXPECT_THAT(mounts.mounts(0).options(), ElementsAre("rbind", "rw"));
  std::ofstream(mounts.mounts(0).source() + "/hello") << "hello";
  EXPECT_EQ(snap->Invoke("Prepare", prep, &mounts).code(), StatusCode::kAlreadyExists);

  v1::CommitSnapshotRequest commit;
  commit.set_key("base");
  commit.set_name("layer1");
  ASSERT_TRUE(snap->Invoke("Commit", commit, nullptr).ok());

  prep.set_key("container");
  prep.set_parent("layer1");
  (*prep.mutable_labels())["role"] = "rootfs";
  ASSERT_TRUE(snap->Invoke("Prepare", prep, &mounts).ok());
  EXPECT_EQ(ReadAll(mounts.mounts(0).source() + "/hello"), "hello");

  v1::SnapshotUsageRequest usage_req;
  usage_req.set_key("container");
  v1::SnapshotUsageResponse usage;
  ASSERT_TRUE(snap->Invoke("Usage", usage_req, &usage).ok());
  EXPECT_EQ(usage.size_bytes(), 5);
  EXPECT_EQ(usage.inodes(), 1);

  v1::WalkSnapshotsRequest walk;
  (*walk.mutable_label_filter())["role"] = "rootfs";
  v1::WalkSnapshotsResponse walked;
  ASSERT_TRUE(snap->Invoke("Walk", walk, &walked).ok());
  ASSERT_EQ(walked.snapshots_size(), 1);
  EXPECT_EQ(walked.snapshots(0).name(), "container");
  EXPECT_EQ(walked.snapshots(0).parent(), "layer1");
  EXPECT_EQ(walked.snapshots(0).kind(), v1::SNAPSHOT_KIND_ACTIVE);

  v1::RemoveSnapshotRequest remove;
  remove.set_key("layer1");
  EXPECT_EQ(snap->Invoke("Remove", remove, nullptr).code(), StatusCode::kFailedPrecondition);
  remove.set_key("container");
  EXPECT_TRUE(snap->Invoke("Remove", remove, nullptr).ok());
  remove.set_key("layer1");
  EXPECT_TRUE(snap->Invoke("Remove", remove, nullptr).ok());
}

TEST_F(PluginHostTest, ExceptionsInPluginsBecomeStatuses) {
  auto host = LoadFixtures();
  PluginHandle* thrower = host->Find(kNetwork, "thrower");
  ASSERT_NE(thrower, nullptr);
  Status s = thrower->Invoke("Setup", v1::SetupNetworkRequest(), nullptr);
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_EQ(s.message(), "io.berth.network.v1/thrower Setup: uncaught exception: boom");
  s = thrower->Invoke("Teardown", v1::TeardownNetworkRequest(), nullptr);
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_THAT(s.message(), HasSubstr("uncaught exception: a non-standard exception"));
  s = thrower->Invoke("GC", v1::NetworkGCRequest(), nullptr);
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(s.message(), HasSubstr("out of memory"));
}

TEST_F(PluginHostTest, EventsReachTheSink) {
  auto host = LoadFixtures();
  PluginHandle* runtime = host->Find(kRuntime, "fixture-runtime");
  ASSERT_NE(runtime, nullptr);

  v1::CreateTaskRequest create;
  create.set_id("t1");
  create.set_bundle("/run/bundle");
  v1::CreateTaskResponse created;
  ASSERT_TRUE(runtime->Invoke("Create", create, &created).ok());
  // A method the fixture does not override (added to runtime.proto after it was written):
  // UNIMPLEMENTED from the SDK, with the method named.
  v1::ReopenLogRequest reopen;
  reopen.set_id("t1");
  Status unimplemented = runtime->Invoke("ReopenLog", reopen, nullptr);
  EXPECT_EQ(unimplemented.code(), StatusCode::kUnimplemented);
  EXPECT_THAT(unimplemented.message(), HasSubstr("ReopenLog is not implemented by this plugin"));

  v1::KillTaskRequest kill;
  kill.set_id("t1");
  kill.set_signal(9);
  // Nobody listens yet: the event is dropped, the call still succeeds.
  ASSERT_TRUE(runtime->Invoke("Kill", kill, nullptr).ok());

  std::vector<std::tuple<std::string, std::string, std::string>> events;
  host->SetEventSink([&](std::string_view plugin, std::string_view topic, std::string_view data) {
    events.emplace_back(plugin, topic, data);
  });
  ASSERT_TRUE(runtime->Invoke("Kill", kill, nullptr).ok());
  ASSERT_EQ(events.size(), 1u);
  auto& [plugin, topic, data] = events[0];
  EXPECT_EQ(plugin, "io.berth.runtime.v1/fixture-runtime");
  EXPECT_EQ(topic, "/tasks/exit");
  v1::TaskExitEvent exit;
  ASSERT_TRUE(exit.ParseFromString(data));
  EXPECT_EQ(exit.id(), "t1");
  EXPECT_EQ(exit.pid(), created.pid());
  EXPECT_EQ(exit.exit_status(), 137);

  // A sink that throws does not take the plugin down; the plugin sees an error status.
  host->SetEventSink([](std::string_view, std::string_view, std::string_view) {
    throw std::runtime_error("subscriber broke");
  });
  Status s = runtime->Invoke("Kill", kill, nullptr);
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_THAT(Log(), HasSubstr("subscriber broke"));
  host->SetEventSink(nullptr);
  EXPECT_TRUE(runtime->Invoke("Kill", kill, nullptr).ok());
}

TEST_F(PluginHostTest, PluginLogsCarryThePluginName) {
  auto host = LoadFixtures();
  std::string tmpdir_line, raw_line;
  for (const std::string& line : Lines(Log())) {
    if (line.find("tmpdir snapshotter ready") != std::string::npos) tmpdir_line = line;
    if (line.find("raw-c plugin created") != std::string::npos) raw_line = line;
  }
  EXPECT_THAT(tmpdir_line, HasSubstr("level=info"));
  EXPECT_THAT(tmpdir_line, HasSubstr("plugin=tmpdir"));
  EXPECT_THAT(tmpdir_line, HasSubstr("type=io.berth.snapshotter.v1"));
  EXPECT_THAT(raw_line, HasSubstr("plugin=raw-c"));
}

TEST_F(PluginHostTest, InvokeFromManyThreads) {
  auto host = LoadFixtures();
  PluginHandle* echo = host->Find(kNetwork, "echo");
  PluginHandle* thrower = host->Find(kNetwork, "thrower");  // serialised by the host
  ASSERT_NE(echo, nullptr);
  ASSERT_NE(thrower, nullptr);
  std::atomic<int> ok{0}, internal{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      v1::SetupNetworkRequest req;
      req.mutable_pod()->set_pod_id("pod-" + std::to_string(t));
      for (int i = 0; i < 100; ++i) {
        v1::SetupNetworkResponse resp;
        if (echo->Invoke("Setup", req, &resp).ok() && resp.ips_size() == 1) ++ok;
        if (thrower->Invoke("Setup", req, nullptr).code() == StatusCode::kInternal) ++internal;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 800);
  EXPECT_EQ(internal.load(), 800);
}

TEST_F(PluginHostTest, DirectoriesMissingOrRepeatedAreHandled) {
  PluginHost host(logger_, Config());
  host.LoadAll({tmp_ / "does-not-exist", kPluginDir, std::string(kPluginDir) + "/", kPluginDir});
  EXPECT_EQ(host.List().size(), 17u);
  EXPECT_EQ(RecordOf(host, "echo.so").status, "ok");
  EXPECT_THAT(Log(), HasSubstr("plugin directory does not exist, skipped"));
  EXPECT_THAT(Log(), HasSubstr("level=debug"));

  host.LoadAll({kPluginDir});  // ignored
  EXPECT_EQ(host.List().size(), 17u);
  EXPECT_THAT(Log(), HasSubstr("LoadAll called twice"));
}

TEST_F(PluginHostTest, NoDirectoriesNoPlugins) {
  PluginHost host(logger_, nlohmann::json::object());
  host.LoadAll({});
  EXPECT_TRUE(host.List().empty());
  EXPECT_EQ(host.Find(kNetwork, "echo"), nullptr);
}

}  // namespace
}  // namespace berth
