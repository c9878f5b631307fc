// The `native` runtime plugin and berth-shim, driven through the real PluginHost with the
// runtime.proto messages (and the shim socket directly for what has no plugin rpc: reopen-log,
// resize, exec wait). Real busybox containers; root.
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "berth/plugin/v1/runtime.pb.h"
#include "cri/plugin_host/plugin_host.h"
#include "plugins/runtime/shim_client/shim_client.h"
#include "tests/integration/native_fixture.h"

namespace berth::native::testing {
namespace {

namespace pv1 = ::berth::plugin::v1;
namespace sv1 = ::berth::shim::v1;
using namespace std::chrono_literals;

// RFC3339Nano in UTC as Go prints it: "2024-01-02T03:04:05[.fraction without trailing 0]Z".
bool ValidTimestamp(const std::string& ts) {
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

class RuntimePluginTest : public NativeTest {
 protected:
  void SetUp() override {
    NativeTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    state_ = std::make_unique<::berth::testing::TempDir>();
    StartHost();
  }
  void TearDown() override {
    host_.reset();
    if (state_) Sh("umount -R " + bundle_->path() + "/rootfs 2>/dev/null");
  }

  void StartHost() {
    host_.reset();
    nlohmann::json cfg = {{"native", {{"state_dir", state_->path()}}}};
    host_ = std::make_unique<PluginHost>(Logger(LogLevel::kWarn), cfg);
    host_->SetEventSink([this](std::string_view, std::string_view topic, std::string_view data) {
      if (topic != "/tasks/exit") return;
      pv1::TaskExitEvent ev;
      ASSERT_TRUE(ev.ParseFromArray(data.data(), static_cast<int>(data.size())));
      std::lock_guard<std::mutex> lock(mu_);
      exits_.push_back(ev);
      cv_.notify_all();
    });
    host_->LoadAll({BERTH_PLUGIN_BUILD_DIR});
    rt_ = host_->Find("io.berth.runtime.v1", "native");
    ASSERT_NE(rt_, nullptr);
  }

  std::string TaskDir(const std::string& id) { return state_->path() + "/tasks/" + id; }

  void WriteSpec(const nlohmann::json& spec) {
    ASSERT_TRUE(AtomicWriteFile(bundle_->path() + "/config.json", spec.dump()).ok());
  }

  pv1::CreateTaskResponse Create(const std::string& id, const nlohmann::json& spec,
                                 const std::string& log = "") {
    WriteSpec(spec);
    pv1::CreateTaskRequest req;
    req.set_id(id);
    req.set_bundle(bundle_->path());
    req.mutable_io()->set_log_path(log);
    pv1::CreateTaskResponse resp;
    Status s = rt_->Invoke("Create", req, &resp);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return resp;
  }
  Status Call(std::string_view method, const google::protobuf::MessageLite& req,
              google::protobuf::MessageLite* resp = nullptr) {
    return rt_->Invoke(method, req, resp);
  }
  void Start(const std::string& id) {
    pv1::StartTaskRequest req;
    req.set_id(id);
    Status s = Call("Start", req);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  pv1::TaskStateResponse State(const std::string& id) {
    pv1::TaskStateRequest req;
    req.set_id(id);
    pv1::TaskStateResponse resp;
    Status s = Call("State", req, &resp);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return resp;
  }
  Status Kill(const std::string& id, int sig) {
    pv1::KillTaskRequest req;
    req.set_id(id);
    req.set_signal(static_cast<uint32_t>(sig));
    return Call("Kill", req);
  }
  pv1::DeleteTaskResponse Delete(const std::string& id) {
    pv1::DeleteTaskRequest req;
    req.set_id(id);
    pv1::DeleteTaskResponse resp;
    Status s = Call("Delete", req, &resp);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return resp;
  }
  std::optional<pv1::TaskExitEvent> WaitExit(const std::string& id,
                                              std::chrono::milliseconds timeout = 20s) {
    std::unique_lock<std::mutex> lock(mu_);
    std::optional<pv1::TaskExitEvent> found;
    cv_.wait_for(lock, timeout, [&] {
      for (const auto& e : exits_) {
        if (e.id() == id && e.exec_id().empty()) found = e;  // the init's exit
      }
      return found.has_value();
    });
    return found;
  }
  Result<sv1::Response> Shim(const std::string& id, sv1::Request req) {
    return runtime_shim::CallShim(TaskDir(id) + "/shim.sock", std::move(req));
  }
  static std::string ShimPid(const std::string& dir) {
    Result<std::string> s = ReadFile(dir + "/shim.pid");
    return s.ok() ? s->substr(0, s->find('\n')) : "";
  }

  std::unique_ptr<::berth::testing::TempDir> state_;
  std::unique_ptr<PluginHost> host_;
  PluginHandle* rt_ = nullptr;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<pv1::TaskExitEvent> exits_;
};

TEST_F(RuntimePluginTest, ExitCodeEventAndCriLog) {
  std::string log = state_->path() + "/c1.log";
  pv1::CreateTaskResponse c = Create(
      "c1", DefaultSpec({"sh", "-c",
                         "echo out; echo err >&2; head -c 40960 /dev/zero | tr '\\0' a; echo; "
                         "printf tail; exit 3"}),
      log);
  EXPECT_GT(c.pid(), 0u);
  EXPECT_EQ(c.shim_socket(), TaskDir("c1") + "/shim.sock");
  struct stat st;
  ASSERT_EQ(stat(c.shim_socket().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(State("c1").status(), pv1::TASK_STATUS_CREATED);
  Start("c1");
  std::optional<pv1::TaskExitEvent> ev = WaitExit("c1");
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->exit_status(), 3);
  EXPECT_GT(ev->exited_at_unix_nano(), 0);
  pv1::TaskStateResponse s = State("c1");
  EXPECT_EQ(s.status(), pv1::TASK_STATUS_STOPPED);
  EXPECT_EQ(s.exit_status(), 3);
  EXPECT_EQ(Delete("c1").exit_status(), 3);

  std::string text = *ReadFile(log);
  std::vector<std::string> got;
  size_t start = 0;
  for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
    std::string l = text.substr(start, nl - start);
    size_t sp1 = l.find(' '), sp2 = l.find(' ', sp1 + 1), sp3 = l.find(' ', sp2 + 1);
    ASSERT_NE(sp3, std::string::npos) << l.substr(0, 100);
    ASSERT_TRUE(ValidTimestamp(l.substr(0, sp1))) << l.substr(0, 100);
    std::string body = l.substr(sp3 + 1);
    if (body.size() > 20) body = body.substr(0, 1) + "x" + std::to_string(body.size());
    got.push_back(l.substr(sp1 + 1, sp3 - sp1 - 1) + " " + body);
  }
  EXPECT_EQ(start, text.size());
  std::vector<std::string> want = {"stdout F out",      "stderr F err",    "stdout P ax16384",
                                   "stdout P ax16384",  "stdout F ax8192", "stdout P tail"};
  EXPECT_EQ(got, want);
}

TEST_F(RuntimePluginTest, ReopenLogRotates) {
  std::string log = state_->path() + "/r.log";
  Create("r", DefaultSpec({"sh", "-c", "i=0; while true; do echo line$i; i=$((i+1)); "
                                       "sleep 0.05; done"}),
         log);
  Start("r");
  std::this_thread::sleep_for(300ms);
  ASSERT_EQ(rename(log.c_str(), (log + ".1").c_str()), 0);
  sv1::Request req;
  req.mutable_reopen_log();
  ASSERT_TRUE(Shim("r", req).ok());
  std::this_thread::sleep_for(300ms);
  ASSERT_TRUE(Kill("r", SIGKILL).ok());
  ASSERT_TRUE(WaitExit("r"));
  std::string old_text = *ReadFile(log + ".1"), new_text = *ReadFile(log);
  EXPECT_NE(old_text.find("stdout F line0\n"), std::string::npos);
  EXPECT_NE(new_text.find("stdout F line"), std::string::npos);
  // No line lost or split across the rotation: numbers are consecutive.
  int expect = 0;
  for (const std::string& t : {old_text, new_text}) {
    for (size_t at = t.find("F line"); at != std::string::npos; at = t.find("F line", at + 1)) {
      EXPECT_EQ(std::stoi(t.substr(at + 6)), expect++);
    }
  }
  Delete("r");
}

TEST_F(RuntimePluginTest, KillWithSigtermAndSigkill) {
  Create("t", DefaultSpec({"sh", "-c", "trap 'exit 7' TERM; while true; do sleep 0.05; done"}));
  Start("t");
  std::this_thread::sleep_for(200ms);
  ASSERT_TRUE(Kill("t", SIGTERM).ok());
  std::optional<pv1::TaskExitEvent> ev = WaitExit("t");
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->exit_status(), 7);
  Delete("t");

  Create("k", DefaultSpec({"sleep", "1000"}));
  Start("k");
  ASSERT_TRUE(Kill("k", SIGKILL).ok());
  ev = WaitExit("k");
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->exit_status(), 128 + SIGKILL);
  Delete("k");
}

TEST_F(RuntimePluginTest, ExecSyncOutputTimeoutAndCap) {
  Create("e", DefaultSpec({"sleep", "1000"}));
  Start("e");
  auto exec = [&](const std::string& exec_id, std::vector<std::string> args, int64_t timeout_ms,
                  uint64_t limit, pv1::ExecProcessResponse* resp) {
    pv1::ExecProcessRequest req;
    req.set_id("e");
    req.set_exec_id(exec_id);
    nlohmann::json proc = {{"args", args}, {"cwd", "/"}, {"env", {"PATH=/bin:/usr/bin"}}};
    req.set_process_json(proc.dump());
    req.set_sync(true);
    req.set_timeout_ms(timeout_ms);
    req.set_output_limit(limit);
    return Call("Exec", req, resp);
  };
  pv1::ExecProcessResponse r;
  Status s = exec("x1", {"sh", "-c", "echo hello; echo bad >&2; exit 5"}, 0, 0, &r);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(r.exit_status(), 5);
  EXPECT_EQ(r.stdout(), "hello\n");
  EXPECT_EQ(r.stderr(), "bad\n");

  auto t0 = std::chrono::steady_clock::now();
  s = exec("x2", {"sh", "-c", "sleep 30 & sleep 30"}, 500, 0, &r);
  EXPECT_EQ(s.code(), StatusCode::kDeadlineExceeded) << s.ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);

  s = exec("x3", {"sh", "-c", "head -c 5000 /dev/zero"}, 0, 1000, &r);
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << s.ToString();
  EXPECT_NE(s.message().find("1000"), std::string::npos);

  // A background child keeps stdout open: the exec still returns when its process exits.
  t0 = std::chrono::steady_clock::now();
  s = exec("x4", {"sh", "-c", "sleep 30 & echo done"}, 0, 0, &r);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(r.stdout(), "done\n");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
  ASSERT_TRUE(Kill("e", SIGKILL).ok());
  ASSERT_TRUE(WaitExit("e"));
  Delete("e");
}

TEST_F(RuntimePluginTest, ExecWithTtyAndResize) {
  Create("tty", DefaultSpec({"sleep", "1000"}));
  Start("tty");
  std::string out = state_->path() + "/tty.out";
  pv1::ExecProcessRequest req;
  req.set_id("tty");
  req.set_exec_id("t1");
  nlohmann::json proc = {{"args", {"stty", "size"}}, {"cwd", "/"}, {"terminal", true},
                         {"env", {"PATH=/bin:/usr/bin"}}};
  req.set_process_json(proc.dump());
  req.mutable_io()->set_terminal(true);
  req.mutable_io()->set_stdout(out);
  Status s = Call("Exec", req);
  ASSERT_TRUE(s.ok()) << s.ToString();
  sv1::Request resize;
  resize.mutable_resize()->set_exec_id("t1");
  resize.mutable_resize()->set_width(100);
  resize.mutable_resize()->set_height(40);
  Result<sv1::Response> rr = Shim("tty", resize);
  ASSERT_TRUE(rr.ok()) << rr.status().ToString();
  pv1::StartTaskRequest start;
  start.set_id("tty");
  start.set_exec_id("t1");
  ASSERT_TRUE(Call("Start", start).ok());
  sv1::Request wait;
  wait.mutable_wait()->set_exec_id("t1");
  Result<sv1::Response> w = Shim("tty", wait);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->state().exit_status(), 0);
  EXPECT_EQ(*ReadFile(out), "40 100\r\n");
  ASSERT_TRUE(Kill("tty", SIGKILL).ok());
  ASSERT_TRUE(WaitExit("tty"));
  Delete("tty");
}

TEST_F(RuntimePluginTest, ReconnectAfterHostRestart) {
  Create("rc", DefaultSpec({"sleep", "1000"}));
  Start("rc");
  StartHost();  // berthd went away and came back: a new host, a new plugin instance
  pv1::ConnectTaskRequest req;
  req.set_id("rc");
  pv1::ConnectTaskResponse resp;
  Status s = Call("Connect", req, &resp);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(resp.status(), pv1::TASK_STATUS_RUNNING);
  ASSERT_TRUE(Kill("rc", SIGKILL).ok());
  std::optional<pv1::TaskExitEvent> ev = WaitExit("rc");
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->exit_status(), 137);
  Delete("rc");
}

TEST_F(RuntimePluginTest, KilledShimReportsExited) {
  Create("ks", DefaultSpec({"sleep", "1000"}));
  Start("ks");
  std::string pid = ShimPid(TaskDir("ks"));
  ASSERT_FALSE(pid.empty());
  StartHost();
  ASSERT_EQ(kill(std::stoi(pid), SIGKILL), 0);
  std::this_thread::sleep_for(200ms);
  pv1::ConnectTaskRequest req;
  req.set_id("ks");
  pv1::ConnectTaskResponse resp;
  ASSERT_TRUE(Call("Connect", req, &resp).ok());
  EXPECT_EQ(resp.status(), pv1::TASK_STATUS_STOPPED);
  pv1::TaskStateResponse st = State("ks");
  EXPECT_EQ(st.status(), pv1::TASK_STATUS_STOPPED);
  EXPECT_EQ(st.exit_status(), 255);  // nothing was recorded: unknown
  // The container's cgroup (and with it the orphaned sleep) is gone.
  EXPECT_NE(access(("/sys/fs/cgroup/memory" + cgroup_path_).c_str(), F_OK), 0);
  Delete("ks");
}

TEST_F(RuntimePluginTest, OomKillIsReported) {
  nlohmann::json spec = DefaultSpec({"sh", "-c", "tail /dev/zero"});
  spec["linux"]["resources"]["memory"] = {{"limit", 32 << 20}, {"swap", 32 << 20}};
  Create("oom", spec);
  Start("oom");
  std::optional<pv1::TaskExitEvent> ev = WaitExit("oom", 60s);
  ASSERT_TRUE(ev);
  EXPECT_TRUE(ev->oom_killed());
  EXPECT_TRUE(State("oom").oom_killed());
  Delete("oom");
}

int CountFds() {
  int n = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

TEST_F(RuntimePluginTest, SequentialContainersLeaveNothingBehind) {
  // The rootfs arrives as a Mount (bind) like a snapshotter would hand it over.
  std::string rootfs_src = bundle_->path() + "/rootfs.src";
  ASSERT_EQ(Sh("mv " + rootfs() + " " + rootfs_src + " && mkdir " + rootfs()), 0);
  int fds_before = CountFds();
  for (int i = 0; i < 50; ++i) {
    std::string id = "seq" + std::to_string(i);
    WriteSpec(DefaultSpec({"true"}));
    pv1::CreateTaskRequest req;
    req.set_id(id);
    req.set_bundle(bundle_->path());
    pv1::Mount* m = req.add_rootfs();
    m->set_type("bind");
    m->set_source(rootfs_src);
    m->add_options("rbind");
    Status s = Call("Create", req);
    ASSERT_TRUE(s.ok()) << s.ToString();
    Start(id);
    std::optional<pv1::TaskExitEvent> ev = WaitExit(id);
    ASSERT_TRUE(ev);
    EXPECT_EQ(ev->exit_status(), 0);
    Delete(id);
  }
  EXPECT_EQ(CountFds(), fds_before);
  std::string mountinfo = *ReadFile("/proc/self/mountinfo");
  EXPECT_EQ(mountinfo.find(bundle_->path()), std::string::npos);
  EXPECT_NE(access(("/sys/fs/cgroup/memory" + cgroup_path_).c_str(), F_OK), 0);
  EXPECT_NE(access(("/sys/fs/cgroup/pids" + cgroup_path_).c_str(), F_OK), 0);
  std::this_thread::sleep_for(200ms);  // shims exit right after answering delete
  EXPECT_NE(Sh("pgrep -f '[b]erth-shim.*" + state_->path() + "' >/dev/null"), 0);
  EXPECT_TRUE(std::filesystem::is_empty(state_->path() + "/tasks"));
}

// Reads "Pss:" / "Rss:" (KiB) of /proc/<pid>/smaps_rollup.
std::pair<long, long> PssRssKb(const std::string& pid) {
  std::string text = *ReadFile("/proc/" + pid + "/smaps_rollup");
  auto field = [&](const std::string& key) {
    size_t at = text.find("\n" + key + ":");
    return at == std::string::npos ? -1L : std::stol(text.substr(at + key.size() + 2));
  };
  return {field("Pss"), field("Rss")};
}

TEST_F(RuntimePluginTest, ShimMemoryCeiling) {
  constexpr int kShims = 5;
  std::vector<std::string> pids;
  for (int i = 0; i < kShims; ++i) {
    std::string id = "mem" + std::to_string(i);
    nlohmann::json spec = DefaultSpec({"sh", "-c", "while true; do echo tick; sleep 0.05; done"});
    spec["linux"]["cgroupsPath"] = cgroup_path_ + "-" + std::to_string(i);
    Create(id, spec, state_->path() + "/" + id + ".log");
    Start(id);
    pids.push_back(ShimPid(TaskDir(id)));
  }
  std::this_thread::sleep_for(500ms);  // some output flows through every shim
  for (int i = 0; i < kShims; ++i) {
    auto [pss, rss] = PssRssKb(pids[i]);
    printf("shim %d (pid %s): Pss %ld KiB, Rss %ld KiB\n", i, pids[i].c_str(), pss, rss);
    if (std::string(BERTH_SANITIZE_FLAGS).empty()) {
      EXPECT_LE(pss, 1024) << "Pss of shim " << pids[i];
      EXPECT_LE(rss, 2048) << "Rss of shim " << pids[i];
    }
  }
  for (int i = 0; i < kShims; ++i) {
    std::string id = "mem" + std::to_string(i);
    ASSERT_TRUE(Kill(id, SIGKILL).ok());
    ASSERT_TRUE(WaitExit(id));
    Delete(id);
  }
}

}  // namespace
}  // namespace berth::native::testing
