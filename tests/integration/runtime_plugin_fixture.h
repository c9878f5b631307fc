#pragma once
// RuntimePluginTest: the behavioural suite of the runtime plugins (io.berth.runtime.v1), one
// parameter per runtime — `native`, and `oci` driving runc (and crun when it can run on this
// host, see CrunProbe) — each loaded from plugins.d by the real PluginHost and driven with the
// runtime.proto messages (and the shim socket directly where a test checks the shim protocol
// itself). Real busybox containers (NativeTest's bundle); root.

#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "berth/plugin/v1/runtime.pb.h"
#include "cri/plugin_host/plugin_host.h"
#include "plugins/runtime/shim_client/shim_client.h"
#include "tests/integration/native_fixture.h"

namespace berth::native::testing {

namespace pv1 = ::berth::plugin::v1;
namespace sv1 = ::berth::shim::v1;
using namespace std::chrono_literals;

struct RuntimeCase {
  std::string label;         // the parameter's name in test names: native, runc, crun
  std::string plugin;        // the plugin: native | oci
  std::string runtime_path;  // oci: the OCI runtime binary
};

// Runs `cmd` with sh, returning its stdout+stderr and exit status.
inline std::pair<std::string, int> ShOutput(const std::string& cmd) {
  std::string out;
  FILE* f = popen((cmd + " 2>&1").c_str(), "r");
  if (!f) return {"popen failed", -1};
  char buf[1024];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
  int rc = pclose(f);
  return {out, WIFEXITED(rc) ? WEXITSTATUS(rc) : -1};
}

// Empty when crun runs a container on this host; otherwise why not (crun 1.8 refuses a cgroup
// v1 host with a v2 mount holding controllers, "hybrid mode"). Runs `crun run` of a bundle
// holding only a static busybox, once per process.
inline const std::string& CrunProbe() {
  static const std::string why = []() -> std::string {
    if (access("/usr/bin/crun", X_OK) != 0) return "crun is not installed (/usr/bin/crun)";
    if (access("/bin/busybox", X_OK) != 0) return "no /bin/busybox (busybox-static) for the probe";
    char tmpl[] = "/tmp/berth-crun-probe-XXXXXX";
    if (!mkdtemp(tmpl)) return "mkdtemp failed";
    std::string dir = tmpl, id = "berth-crun-probe-" + std::to_string(getpid());
    nlohmann::json spec = {
        {"ociVersion", "1.0.2"},
        {"process",
         {{"args", {"/busybox", "true"}}, {"cwd", "/"}, {"user", {{"uid", 0}, {"gid", 0}}}}},
        {"root", {{"path", "rootfs"}}},
        {"mounts", nlohmann::json::array()},
        {"linux",
         {{"namespaces", {{{"type", "pid"}}, {{"type", "mount"}}}}, {"cgroupsPath", "/" + id}}}};
    std::string why_not;
    if (Sh("mkdir -p " + dir + "/rootfs && cp /bin/busybox " + dir + "/rootfs/busybox") != 0 ||
        !AtomicWriteFile(dir + "/config.json", spec.dump()).ok()) {
      why_not = "cannot write the probe bundle in " + dir;
    } else {
      auto [out, rc] = ShOutput("/usr/bin/crun --root " + dir + "/state run --bundle " + dir + " " +
                                id + " </dev/null");
      while (!out.empty() && out.back() == '\n') out.pop_back();
      if (rc != 0) why_not = "crun cannot run a container on this host: \"" + out + "\"";
    }
    Sh("rm -rf " + dir);
    return why_not;
  }();
  return why;
}

// native and runc always (a missing runc fails the oci tests); crun when CrunProbe() passes.
inline std::vector<RuntimeCase> RuntimeCases() {
  std::vector<RuntimeCase> cases = {{"native", "native", ""}, {"runc", "oci", "runc"}};
  if (CrunProbe().empty()) cases.push_back({"crun", "oci", "crun"});
  return cases;
}

inline void PrintTo(const RuntimeCase& c, std::ostream* os) { *os << c.label; }

inline std::string CaseName(const ::testing::TestParamInfo<RuntimeCase>& info) {
  return info.param.label;
}

// RFC3339Nano in UTC as Go prints it: "2024-01-02T03:04:05[.fraction without trailing 0]Z".
inline bool ValidTimestamp(const std::string& ts) {
  if (ts.size() < 20 || ts.back() != 'Z') return false;
  const char* shape = "dddd-dd-ddTdd:dd:dd";
  for (size_t i = 0; i < 19; ++i) {
    if (shape[i] == 'd' ? !isdigit(static_cast<unsigned char>(ts[i])) : ts[i] != shape[i]) {
      return false;
    }
  }
  if (ts.size() == 20) return true;
  if (ts[19] != '.' || ts.size() < 22 || ts[ts.size() - 2] == '0') return false;
  for (size_t i = 20; i + 1 < ts.size(); ++i) {
    if (!isdigit(static_cast<unsigned char>(ts[i]))) return false;
  }
  return true;
}

// Reads "Pss:" / "Rss:" (KiB) of /proc/<pid>/smaps_rollup; -1 when missing.
inline std::pair<long, long> PssRssKb(const std::string& pid) {
  Result<std::string> text = ReadFile("/proc/" + pid + "/smaps_rollup");
  if (!text.ok()) return {-1, -1};
  auto field = [&](const std::string& key) {
    size_t at = text->find("\n" + key + ":");
    return at == std::string::npos ? -1L : std::stol(text->substr(at + key.size() + 2));
  };
  return {field("Pss"), field("Rss")};
}

// True while `pid` exists and is not a zombie (an exited shim may wait for a slow reaper).
inline bool Running(const std::string& pid) {
  Result<std::string> stat = ReadFile("/proc/" + pid + "/stat");
  if (!stat.ok()) return false;
  size_t rp = stat->rfind(')');
  return rp != std::string::npos && rp + 2 < stat->size() && (*stat)[rp + 2] != 'Z';
}

inline int CountFds() {
  int n = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

// The fixture; `runtime_` is the case under test (GetParam() for the parameterised suite).
class RuntimePluginFixture : public NativeTest {
 protected:
  explicit RuntimePluginFixture(RuntimeCase runtime) : runtime_(std::move(runtime)) {}

  void SetUp() override {
    NativeTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    state_ = std::make_unique<::berth::testing::TempDir>();
    StartHost();
  }
  void TearDown() override {
    host_.reset();
    if (state_) Sh("umount -R " + bundle_->path() + "/rootfs 2>/dev/null");
    for (const char* ctl :
         {"memory", "pids", "cpu", "cpuacct", "cpuset", "blkio", "devices", "freezer", "systemd"}) {
      rmdir((std::string("/sys/fs/cgroup/") + ctl + cgroup_path_)
                .c_str());  // after a failed test only
    }
  }

  // The plugin's config for this case.
  nlohmann::json PluginConfig() const {
    nlohmann::json c = {{"state_dir", state_->path()}};
    if (!runtime_.runtime_path.empty()) c["runtime_path"] = runtime_.runtime_path;
    return c;
  }
  // A new host and plugin instance (berthd starting), the previous one destroyed first.
  void StartHost() {
    host_.reset();
    rt_ = nullptr;
    nlohmann::json cfg = {{"io.berth.runtime.v1/" + runtime_.plugin, PluginConfig()}};
    host_ = std::make_unique<PluginHost>(Logger(LogLevel::kWarn), cfg);
    host_->SetEventSink([this](std::string_view, std::string_view topic, std::string_view data) {
      if (topic != "/tasks/exit") return;
      pv1::TaskExitEvent ev;
      if (!ev.ParseFromArray(data.data(), static_cast<int>(data.size()))) return;
      std::lock_guard<std::mutex> lock(mu_);
      exits_.push_back(ev);
      cv_.notify_all();
    });
    host_->LoadAll({BERTH_PLUGIN_BUILD_DIR});
    rt_ = host_->Find("io.berth.runtime.v1", runtime_.plugin);
    ASSERT_NE(rt_, nullptr) << "runtime plugin " << runtime_.plugin << " did not load";
  }

  std::string TaskDir(const std::string& id) const { return state_->path() + "/tasks/" + id; }
  std::string RuntimeRoot() const { return state_->path() + "/root"; }  // oci's default

  void WriteSpec(const nlohmann::json& spec) {
    ASSERT_TRUE(AtomicWriteFile(bundle_->path() + "/config.json", spec.dump()).ok());
  }

  Status Call(std::string_view method, const google::protobuf::MessageLite& req,
              google::protobuf::MessageLite* resp = nullptr) {
    if (!rt_) return FailedPrecondition("no runtime plugin");
    return rt_->Invoke(method, req, resp);
  }
  pv1::CreateTaskResponse Create(const std::string& id, const nlohmann::json& spec,
                                 const std::string& log = "", const std::string& stdin = "") {
    WriteSpec(spec);
    pv1::CreateTaskRequest req;
    req.set_id(id);
    req.set_bundle(bundle_->path());
    req.mutable_io()->set_log_path(log);
    req.mutable_io()->set_stdin(stdin);
    pv1::CreateTaskResponse resp;
    Status s = Call("Create", req, &resp);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return resp;
  }
  Status Start(const std::string& id, const std::string& exec_id = "") {
    pv1::StartTaskRequest req;
    req.set_id(id);
    req.set_exec_id(exec_id);
    Status s = Call("Start", req);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return s;
  }
  pv1::TaskStateResponse State(const std::string& id, const std::string& exec_id = "") {
    pv1::TaskStateRequest req;
    req.set_id(id);
    req.set_exec_id(exec_id);
    pv1::TaskStateResponse resp;
    Status s = Call("State", req, &resp);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return resp;
  }
  Status Kill(const std::string& id, int sig, bool all = false) {
    pv1::KillTaskRequest req;
    req.set_id(id);
    req.set_signal(static_cast<uint32_t>(sig));
    req.set_all(all);
    return Call("Kill", req);
  }
  pv1::DeleteTaskResponse Delete(const std::string& id, const std::string& exec_id = "") {
    pv1::DeleteTaskRequest req;
    req.set_id(id);
    req.set_exec_id(exec_id);
    pv1::DeleteTaskResponse resp;
    Status s = Call("Delete", req, &resp);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return resp;
  }
  // Kills (SIGKILL), waits for the exit event and deletes.
  void Finish(const std::string& id) {
    EXPECT_TRUE(Kill(id, SIGKILL).ok());
    EXPECT_TRUE(WaitExit(id));
    Delete(id);
  }
  std::optional<pv1::TaskExitEvent> WaitExit(const std::string& id, const std::string& exec_id = "",
                                             std::chrono::milliseconds timeout = 20s) {
    std::unique_lock<std::mutex> lock(mu_);
    std::optional<pv1::TaskExitEvent> found;
    cv_.wait_for(lock, timeout, [&] {
      for (const auto& e : exits_) {
        if (e.id() == id && e.exec_id() == exec_id) found = e;
      }
      return found.has_value();
    });
    return found;
  }
  int CountExits(const std::string& id, const std::string& exec_id = "") {
    std::lock_guard<std::mutex> lock(mu_);
    int n = 0;
    for (const auto& e : exits_) n += e.id() == id && e.exec_id() == exec_id;
    return n;
  }
  static nlohmann::json Process(std::vector<std::string> args) {
    return {{"args", args},
            {"cwd", "/"},
            {"env", {"PATH=/bin:/usr/bin"}},
            {"user", {{"uid", 0}, {"gid", 0}}}};
  }
  Status ExecSync(const std::string& id, const std::string& exec_id, std::vector<std::string> args,
                  pv1::ExecProcessResponse* resp, int64_t timeout_ms = 0, uint64_t limit = 0) {
    pv1::ExecProcessRequest req;
    req.set_id(id);
    req.set_exec_id(exec_id);
    req.set_process_json(Process(std::move(args)).dump());
    req.set_sync(true);
    req.set_timeout_ms(timeout_ms);
    req.set_output_limit(limit);
    return Call("Exec", req, resp);
  }
  Result<sv1::Response> Shim(const std::string& id, sv1::Request req) {
    return runtime_shim::CallShim(TaskDir(id) + "/shim.sock", std::move(req));
  }
  static std::string ShimPid(const std::string& dir) {
    Result<std::string> s = ReadFile(dir + "/shim.pid");
    return s.ok() ? s->substr(0, s->find('\n')) : "";
  }
  // A CRI log file as "<stream> <tag> <text>" lines (timestamps checked); text over 64 bytes
  // shortened to "<first byte>x<length>".
  static std::vector<std::string> LogLines(const std::string& path) {
    std::vector<std::string> got;
    Result<std::string> text = ReadFile(path);
    if (!text.ok()) return got;
    size_t start = 0;
    for (size_t nl; (nl = text->find('\n', start)) != std::string::npos; start = nl + 1) {
      std::string l = text->substr(start, nl - start);
      size_t sp1 = l.find(' '), sp2 = l.find(' ', sp1 + 1), sp3 = l.find(' ', sp2 + 1);
      EXPECT_NE(sp3, std::string::npos) << l.substr(0, 100);
      if (sp3 == std::string::npos) continue;
      EXPECT_TRUE(ValidTimestamp(l.substr(0, sp1))) << l.substr(0, 100);
      std::string body = l.substr(sp3 + 1);
      if (body.size() > 64) body = body.substr(0, 1) + "x" + std::to_string(body.size());
      got.push_back(l.substr(sp1 + 1, sp3 - sp1 - 1) + " " + body);
    }
    EXPECT_EQ(start, text->size()) << "the log ends inside a line";
    return got;
  }
  // Every v1 controller directory (and the v2 one) that holds the test's cgroup path.
  std::vector<std::string> LeftoverCgroups(const std::string& path) const {
    std::vector<std::string> left;
    for (auto& e : std::filesystem::directory_iterator("/sys/fs/cgroup")) {
      std::string dir = e.path().string() + path;
      if (access(dir.c_str(), F_OK) == 0) left.push_back(dir);
    }
    return left;
  }

  RuntimeCase runtime_;
  std::unique_ptr<::berth::testing::TempDir> state_;
  std::unique_ptr<PluginHost> host_;
  PluginHandle* rt_ = nullptr;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<pv1::TaskExitEvent> exits_;
};

// The parameterised suite: one instance per RuntimeCases() entry.
class RuntimePluginTest : public RuntimePluginFixture,
                          public ::testing::WithParamInterface<RuntimeCase> {
 protected:
  RuntimePluginTest() : RuntimePluginFixture(GetParam()) {}
};

}  // namespace berth::native::testing
