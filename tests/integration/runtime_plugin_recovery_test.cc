// The runtime plugins' behavioural suite, part 2: what survives berthd — a new host and plugin
// instance reconnecting, the parent process SIGKILLed, a SIGKILLed shim — and sequential
// containers leaving nothing behind (see runtime_plugin_fixture.h).
#include <sys/wait.h>

#include "tests/integration/runtime_plugin_fixture.h"

namespace berth::native::testing {
namespace {

TEST_P(RuntimePluginTest, ReconnectAfterHostRestart) {
  std::string log = state_->path() + "/rc.log";
  pv1::CreateTaskResponse c =
      Create("rc", DefaultSpec({"sh", "-c", "while true; do echo tick; sleep 0.05; done"}), log);
  ASSERT_TRUE(Start("rc").ok());
  StartHost();  // berthd went away and came back: a new host, a new plugin instance
  pv1::ConnectTaskRequest req;
  req.set_id("rc");
  pv1::ConnectTaskResponse resp;
  Status s = Call("Connect", req, &resp);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(resp.status(), pv1::TASK_STATUS_RUNNING);
  EXPECT_EQ(resp.pid(), c.pid());
  EXPECT_EQ(resp.shim_socket(), c.shim_socket());
  EXPECT_EQ(State("rc").status(), pv1::TASK_STATUS_RUNNING);
  pv1::ExecProcessResponse r;
  s = ExecSync("rc", "x", {"echo", "still here"}, &r);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(r.stdout(), "still here\n");
  // Connect again is harmless (no second exit event).
  ASSERT_TRUE(Call("Connect", req, &resp).ok());
  ASSERT_TRUE(Kill("rc", SIGKILL).ok());
  std::optional<pv1::TaskExitEvent> ev = WaitExit("rc");
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->exit_status(), 137);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(CountExits("rc"), 1);
  Delete("rc");
  EXPECT_TRUE(LeftoverCgroups(cgroup_path_).empty());

  // Connect of a task that was never created is NOT_FOUND.
  req.set_id("never");
  EXPECT_EQ(Call("Connect", req, &resp).code(), StatusCode::kNotFound);
}

// The process that created the container (berthd) dies by SIGKILL: the shim and container run
// on, output still reaches the log, and a new process reconnects, execs, kills and deletes.
TEST_P(RuntimePluginTest, ShimSurvivesParentSigkill) {
  std::string log = state_->path() + "/p.log";
  WriteSpec(DefaultSpec({"sh", "-c",
                         "i=0; while true; do echo n$i; i=$((i+1)); sleep 0.05; "
                         "done"}));
  host_.reset();  // no plugin threads left: the fork below is safe
  rt_ = nullptr;
  int p[2];
  ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {  // "berthd": create and start, say so, wait to be killed
    close(p[0]);
    nlohmann::json cfg = {{"io.berth.runtime.v1/" + runtime_.plugin, PluginConfig()}};
    PluginHost host(Logger(LogLevel::kError), cfg);
    host.LoadAll({BERTH_PLUGIN_BUILD_DIR});
    PluginHandle* rt = host.Find("io.berth.runtime.v1", runtime_.plugin);
    pv1::CreateTaskRequest req;
    req.set_id("orphan");
    req.set_bundle(bundle_->path());
    req.mutable_io()->set_log_path(log);
    pv1::StartTaskRequest start;
    start.set_id("orphan");
    std::string result = "ok";
    pv1::CreateTaskResponse cresp;
    pv1::StartTaskResponse sresp;
    Status s = rt ? rt->Invoke("Create", req, &cresp) : Internal("no plugin");
    if (s.ok()) s = rt->Invoke("Start", start, &sresp);
    if (!s.ok()) result = s.ToString();
    (void)!write(p[1], result.data(), result.size());
    close(p[1]);
    for (;;) pause();
  }
  close(p[1]);
  std::string result;
  char buf[512];
  for (ssize_t n; (n = read(p[0], buf, sizeof(buf))) > 0;) result.append(buf, n);
  close(p[0]);
  ASSERT_EQ(kill(child, SIGKILL), 0);
  int ws;
  ASSERT_EQ(waitpid(child, &ws, 0), child);
  ASSERT_EQ(result, "ok");

  std::string shim_pid = ShimPid(TaskDir("orphan"));
  ASSERT_FALSE(shim_pid.empty());
  EXPECT_TRUE(Running(shim_pid)) << "the shim died with its parent";
  // Not in the dead parent's session or process group.
  EXPECT_NE(getsid(std::stoi(shim_pid)), getsid(child));
  size_t lines_then = LogLines(log).size();
  std::this_thread::sleep_for(400ms);
  EXPECT_GT(LogLines(log).size(), lines_then + 2) << "the container stopped writing its log";

  StartHost();
  pv1::ConnectTaskRequest creq;
  creq.set_id("orphan");
  pv1::ConnectTaskResponse cresp;
  Status s = Call("Connect", creq, &cresp);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(cresp.status(), pv1::TASK_STATUS_RUNNING);
  pv1::ExecProcessResponse r;
  s = ExecSync("orphan", "x", {"echo", "alive"}, &r);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(r.stdout(), "alive\n");
  ASSERT_TRUE(Kill("orphan", SIGKILL).ok());
  std::optional<pv1::TaskExitEvent> ev = WaitExit("orphan");
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->exit_status(), 137);
  Delete("orphan");
  std::this_thread::sleep_for(200ms);
  EXPECT_FALSE(Running(shim_pid)) << "the shim outlived delete";
  // The log is whole: consecutive numbers across the parent's death.
  std::vector<std::string> lines = LogLines(log);
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i], "stdout F n" + std::to_string(i));
  }
}

TEST_P(RuntimePluginTest, KilledShimReportsExited) {
  Create("ks", DefaultSpec({"sleep", "1000"}));
  ASSERT_TRUE(Start("ks").ok());
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
  // The container's cgroups (and with them the orphaned sleep) are gone.
  EXPECT_EQ(LeftoverCgroups(cgroup_path_), std::vector<std::string>{});
  Delete("ks");
  EXPECT_TRUE(std::filesystem::is_empty(state_->path() + "/tasks"));
  if (runtime_.plugin == "oci") {
    EXPECT_FALSE(std::filesystem::exists(RuntimeRoot() + "/ks")) << "the runtime's state is left";
  }
}

// The exit happened while nobody listened: the shim recorded it; a new instance reads it.
TEST_P(RuntimePluginTest, ExitWhileDisconnectedIsKept) {
  Create("gone", DefaultSpec({"sh", "-c", "sleep 0.3; exit 42"}));
  ASSERT_TRUE(Start("gone").ok());
  host_.reset();
  rt_ = nullptr;
  std::this_thread::sleep_for(800ms);
  StartHost();
  pv1::ConnectTaskRequest req;
  req.set_id("gone");
  pv1::ConnectTaskResponse resp;
  ASSERT_TRUE(Call("Connect", req, &resp).ok());
  EXPECT_EQ(resp.status(), pv1::TASK_STATUS_STOPPED);
  pv1::TaskStateResponse st = State("gone");
  EXPECT_EQ(st.status(), pv1::TASK_STATUS_STOPPED);
  EXPECT_EQ(st.exit_status(), 42);
  EXPECT_EQ(Delete("gone").exit_status(), 42);
}

// A state directory so deep that <dir>/tasks/<id>/shim.sock exceeds sun_path (108 bytes): the
// shim binds and its clients dial through /proc/self/fd/<dir fd>/shim.sock.
TEST_P(RuntimePluginTest, LongSocketPath) {
  std::string deep = state_->path() + "/" + std::string(60, 'd') + "/" + std::string(60, 'e');
  ASSERT_TRUE(MakeDirs(deep, 0700).ok());
  host_.reset();
  nlohmann::json cfg = PluginConfig();
  cfg["state_dir"] = deep;
  cfg = {{"io.berth.runtime.v1/" + runtime_.plugin, cfg}};
  host_ = std::make_unique<PluginHost>(Logger(LogLevel::kWarn), cfg);
  host_->SetEventSink([this](std::string_view, std::string_view topic, std::string_view data) {
    pv1::TaskExitEvent ev;
    if (topic != "/tasks/exit" || !ev.ParseFromArray(data.data(), static_cast<int>(data.size())))
      return;
    std::lock_guard<std::mutex> lock(mu_);
    exits_.push_back(ev);
    cv_.notify_all();
  });
  host_->LoadAll({BERTH_PLUGIN_BUILD_DIR});
  rt_ = host_->Find("io.berth.runtime.v1", runtime_.plugin);
  ASSERT_NE(rt_, nullptr);
  pv1::CreateTaskResponse c = Create("long", DefaultSpec({"sleep", "1000"}));
  ASSERT_GT(c.shim_socket().size(), 108u);
  EXPECT_EQ(access(c.shim_socket().c_str(), F_OK), 0);
  ASSERT_TRUE(Start("long").ok());
  EXPECT_EQ(State("long").status(), pv1::TASK_STATUS_RUNNING);
  pv1::ExecProcessResponse r;
  Status s = ExecSync("long", "x", {"echo", "deep"}, &r);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(r.stdout(), "deep\n");
  ASSERT_TRUE(Kill("long", SIGKILL).ok());
  std::optional<pv1::TaskExitEvent> ev = WaitExit("long");  // through the exit watcher's dial
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->exit_status(), 137);
  Delete("long");
}

TEST_P(RuntimePluginTest, SequentialContainersLeaveNothingBehind) {
  // The rootfs arrives as a Mount (bind) like a snapshotter would hand it over.
  std::string rootfs_src = bundle_->path() + "/rootfs.src";
  ASSERT_EQ(Sh("mv " + rootfs() + " " + rootfs_src + " && mkdir " + rootfs()), 0);
  int fds_before = CountFds();
  auto count = [](const std::string& text, const std::string& what) {
    int n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  };
  // The issue asks for 200; runc costs ~5x more per container, so oci runs 50.
  const int n = runtime_.plugin == "native" ? 200 : 50;
  for (int i = 0; i < n; ++i) {
    std::string id = "seq" + std::to_string(i);
    WriteSpec(DefaultSpec({"sh", "-c", "echo " + id}));
    pv1::CreateTaskRequest req;
    req.set_id(id);
    req.set_bundle(bundle_->path());
    req.mutable_io()->set_log_path(state_->path() + "/seq.log");
    pv1::Mount* m = req.add_rootfs();
    m->set_type("bind");
    m->set_source(rootfs_src);
    m->add_options("rbind");
    Status s = Call("Create", req);
    ASSERT_TRUE(s.ok()) << s.ToString();
    ASSERT_TRUE(Start(id).ok());
    std::optional<pv1::TaskExitEvent> ev = WaitExit(id);
    ASSERT_TRUE(ev);
    EXPECT_EQ(ev->exit_status(), 0);
    Delete(id);
  }
  EXPECT_EQ(LogLines(state_->path() + "/seq.log").size(), static_cast<size_t>(n));
  EXPECT_EQ(CountFds(), fds_before);
  std::string mounts_after = *ReadFile("/proc/self/mountinfo");
  EXPECT_EQ(count(mounts_after, bundle_->path()), 0);
  EXPECT_EQ(LeftoverCgroups(cgroup_path_), std::vector<std::string>{});
  std::this_thread::sleep_for(200ms);  // shims exit right after answering delete
  EXPECT_NE(Sh("pgrep -f '[b]erth-shim.*" + state_->path() + "' >/dev/null"), 0);
  EXPECT_NE(Sh("pgrep -f '[r]unc.*" + state_->path() + "' >/dev/null"), 0);
  EXPECT_TRUE(std::filesystem::is_empty(state_->path() + "/tasks"));
  if (runtime_.plugin == "oci") {
    EXPECT_TRUE(std::filesystem::is_empty(RuntimeRoot()));
  }
}

}  // namespace
}  // namespace berth::native::testing
