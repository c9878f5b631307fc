// The runtime plugins' behavioural suite, part 1: lifecycle, exit codes and signals, the CRI
// log, exec, stdin, stats, update, OOM (see runtime_plugin_fixture.h; part 2 is
// runtime_plugin_recovery_test.cc, part 3 runtime_plugin_streams_test.cc). Every test runs against
// native, runc and, where it can run, crun.
#include <fcntl.h>
#include <sys/stat.h>
#include <algorithm>

#include "tests/integration/runtime_plugin_fixture.h"

namespace berth::native::testing {
namespace {

TEST_P(RuntimePluginTest, LifecycleExitCodeEventAndCriLog) {
  std::string log = state_->path() + "/c1.log";
  pv1::CreateTaskResponse c =
      Create("c1",
             DefaultSpec({"sh", "-c",
                          "echo out; echo err >&2; head -c 40960 /dev/zero | tr '\\0' a; echo; "
                          "printf 'cr\\r\\n'; printf tail; exit 3"}),
             log);
  EXPECT_GT(c.pid(), 0u);
  EXPECT_EQ(c.shim_socket(), TaskDir("c1") + "/shim.sock");
  struct stat st;
  ASSERT_EQ(stat(c.shim_socket().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  pv1::TaskStateResponse created = State("c1");
  EXPECT_EQ(created.status(), pv1::TASK_STATUS_CREATED);
  EXPECT_EQ(created.pid(), c.pid());
  EXPECT_EQ(created.bundle(), bundle_->path());
  ASSERT_TRUE(Start("c1").ok());
  std::optional<pv1::TaskExitEvent> ev = WaitExit("c1");
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->exit_status(), 3);
  EXPECT_EQ(ev->pid(), c.pid());
  EXPECT_GT(ev->exited_at_unix_nano(), 0);
  EXPECT_FALSE(ev->oom_killed());
  pv1::TaskStateResponse s = State("c1");
  EXPECT_EQ(s.status(), pv1::TASK_STATUS_STOPPED);
  EXPECT_EQ(s.exit_status(), 3);
  pv1::DeleteTaskResponse d = Delete("c1");
  EXPECT_EQ(d.exit_status(), 3);
  EXPECT_EQ(d.exited_at_unix_nano(), ev->exited_at_unix_nano());
  EXPECT_EQ(CountExits("c1"), 1);  // published once
  pv1::TaskStateRequest gone;
  gone.set_id("c1");
  EXPECT_EQ(Call("State", gone).code(), StatusCode::kNotFound);

  // Per stream: stdout and stderr are two pipes, so how their lines interleave in the log
  // depends on which the shim reads first (seen to vary under load); each stream's order is
  // exact.
  std::vector<std::string> out, err;
  for (const std::string& l : LogLines(log)) (l.rfind("stderr ", 0) == 0 ? err : out).push_back(l);
  std::vector<std::string> want_out = {"stdout F out",    "stdout P ax16384", "stdout P ax16384",
                                       "stdout F ax8192", "stdout F cr",      "stdout P tail"};
  EXPECT_EQ(out, want_out);
  EXPECT_EQ(err, std::vector<std::string>{"stderr F err"});
}

TEST_P(RuntimePluginTest, CreateErrorsAreClear) {
  pv1::CreateTaskRequest req;
  req.set_id("bad/id");
  req.set_bundle(bundle_->path());
  EXPECT_EQ(Call("Create", req).code(), StatusCode::kInvalidArgument);
  // A binary that does not exist in the rootfs: creation or start fails, with its name.
  WriteSpec(DefaultSpec({"/no/such/binary"}));
  req.set_id("nobin");
  Status s = Call("Create", req);
  if (s.ok()) {
    pv1::StartTaskRequest start;
    start.set_id("nobin");
    s = Call("Start", start);
    if (s.ok()) {
      std::optional<pv1::TaskExitEvent> ev = WaitExit("nobin");
      ASSERT_TRUE(ev);
      EXPECT_NE(ev->exit_status(), 0);
    } else {
      EXPECT_NE(s.message().find("/no/such/binary"), std::string::npos) << s.ToString();
    }
    (void)Kill("nobin", SIGKILL);
    WaitExit("nobin", "", 5s);
    Delete("nobin");
  } else {
    EXPECT_NE(s.message().find("no/such/binary"), std::string::npos) << s.ToString();
  }
  EXPECT_TRUE(LeftoverCgroups(cgroup_path_).empty());
  EXPECT_TRUE(std::filesystem::is_empty(state_->path() + "/tasks"));
}

TEST_P(RuntimePluginTest, SignalsAndKillAll) {
  Create("t", DefaultSpec({"sh", "-c", "trap 'exit 7' TERM; while true; do sleep 0.05; done"}));
  ASSERT_TRUE(Start("t").ok());
  std::this_thread::sleep_for(200ms);
  ASSERT_TRUE(Kill("t", SIGTERM).ok());
  std::optional<pv1::TaskExitEvent> ev = WaitExit("t");
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->exit_status(), 7);
  // Signalling an exited task is NOT_FOUND (all=false) or fine (all=true).
  Status s = Kill("t", SIGTERM);
  EXPECT_TRUE(s.code() == StatusCode::kNotFound || s.ok()) << s.ToString();
  EXPECT_TRUE(Kill("t", SIGKILL, /*all=*/true).ok());
  Delete("t");

  Create("k", DefaultSpec({"sleep", "1000"}));
  ASSERT_TRUE(Start("k").ok());
  ASSERT_TRUE(Kill("k", SIGKILL).ok());
  ev = WaitExit("k");
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->exit_status(), 128 + SIGKILL);
  Delete("k");

  // all=true reaches every process: the init (pid 1 of its namespace, no handler) ignores
  // SIGTERM, its child does not; the init then wakes from `wait`.
  std::string log = state_->path() + "/all.log";
  Create("all", DefaultSpec({"sh", "-c", "sleep 1000 & wait; echo woke; exit 4"}), log);
  ASSERT_TRUE(Start("all").ok());
  std::this_thread::sleep_for(300ms);
  ASSERT_TRUE(Kill("all", SIGTERM, /*all=*/true).ok());
  ev = WaitExit("all");
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->exit_status(), 4);
  EXPECT_EQ(LogLines(log), std::vector<std::string>{"stdout F woke"});
  Delete("all");
}

TEST_P(RuntimePluginTest, ProcessSpecIsApplied) {
  nlohmann::json spec =
      DefaultSpec({"sh", "-c",
                   "id -u; id -g; id -G; echo $FOO; pwd; grep CapEff /proc/self/status; hostname; "
                   "touch /x 2>/dev/null && echo rw || echo ro; stat -c %t:%T /proc/keys; grep "
                   "CapBnd /proc/self/status; umask"});
  spec["process"]["user"] = {
      {"uid", 1000}, {"gid", 1000}, {"additionalGids", {10, 20}}, {"umask", 23}};
  spec["process"]["env"].push_back("FOO=bar baz");
  spec["process"]["cwd"] = "/tmp";
  spec["root"]["readonly"] = true;
  nlohmann::json caps = {"CAP_KILL", "CAP_NET_BIND_SERVICE"};
  spec["process"]["capabilities"] = {{"bounding", caps}, {"effective", caps}, {"permitted", caps}};
  std::string log = state_->path() + "/spec.log";
  Create("spec", spec, log);
  ASSERT_TRUE(Start("spec").ok());
  std::optional<pv1::TaskExitEvent> ev = WaitExit("spec");
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->exit_status(), 0);
  Delete("spec");
  // A non-root user without ambient capabilities has an empty effective set (runc alike);
  // /proc/keys is masked by /dev/null (char 1:3).
  std::vector<std::string> want = {"stdout F 1000",       "stdout F 1000",
                                   "stdout F 1000 10 20", "stdout F bar baz",
                                   "stdout F /tmp",       "stdout F CapEff:\t0000000000000000",
                                   "stdout F berth",      "stdout F ro",
                                   "stdout F 1:3",        "stdout F CapBnd:\t0000000000000420",
                                   "stdout F 0027"};
  EXPECT_EQ(LogLines(log), want);
}

// An OCI seccomp section blocks the syscalls it names, with the errno it names, and nothing else.
TEST_P(RuntimePluginTest, SeccompBlocksTheNamedSyscalls) {
  nlohmann::json spec = DefaultSpec(
      {"sh", "-c", "mkdir /tmp/d 2>/dev/null; echo mkdir=$?; touch /tmp/f && echo touched"});
  spec["linux"]["seccomp"] = {
      {"defaultAction", "SCMP_ACT_ALLOW"},
      {"syscalls",
       {{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 1}}}}};
  std::string log = state_->path() + "/seccomp.log";
  Create("sc", spec, log);
  ASSERT_TRUE(Start("sc").ok());
  std::optional<pv1::TaskExitEvent> ev = WaitExit("sc");
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->exit_status(), 0);
  Delete("sc");
  std::vector<std::string> want = {"stdout F mkdir=1", "stdout F touched"};
  EXPECT_EQ(LogLines(log), want);
}

TEST_P(RuntimePluginTest, ExecSyncOutputTimeoutAndCap) {
  Create("e", DefaultSpec({"sleep", "1000"}));
  ASSERT_TRUE(Start("e").ok());
  pv1::ExecProcessResponse r;
  Status s = ExecSync("e", "x1", {"sh", "-c", "echo hello; echo bad >&2; exit 5"}, &r);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(r.exit_status(), 5);
  EXPECT_EQ(r.stdout(), "hello\n");
  EXPECT_EQ(r.stderr(), "bad\n");

  s = ExecSync("e", "x1b", {"sh", "-c", "kill -9 $$"}, &r);  // killed by a signal: 128 + 9
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(r.exit_status(), 137);

  auto t0 = std::chrono::steady_clock::now();
  s = ExecSync("e", "x2", {"sh", "-c", "sleep 30 & sleep 30"}, &r, 500);
  EXPECT_EQ(s.code(), StatusCode::kDeadlineExceeded) << s.ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
  std::this_thread::sleep_for(100ms);
  // The timed-out process and its background child are gone: only the init's sleep is left.
  // (A killed child re-parented to the init stays a zombie: the init, sleep, reaps nothing.)
  s = ExecSync("e", "x2b", {"ps", "-o", "stat,args"}, &r);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(r.stdout().find("sleep 30"), std::string::npos) << r.stdout();

  // Over output_limit: the first 1000 bytes of each stream; the rest was read and dropped while
  // the process ran on to its exit status; OK, with output_truncated.
  s = ExecSync("e", "x3",
               {"sh", "-c",
                "head -c 5000 /dev/zero | tr '\\0' o; head -c 3000 /dev/zero | tr '\\0' e >&2; "
                "echo gone; exit 6"},
               &r, 0, 1000);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(r.exit_status(), 6);
  EXPECT_EQ(r.stdout(), std::string(1000, 'o'));
  EXPECT_EQ(r.stderr(), std::string(1000, 'e'));
  EXPECT_TRUE(r.output_truncated());
  // Exactly at the limit: nothing dropped.
  s = ExecSync("e", "x3b", {"sh", "-c", "head -c 1000 /dev/zero"}, &r, 0, 1000);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(r.stdout(), std::string(1000, '\0'));
  EXPECT_FALSE(r.output_truncated());

  // A background child keeps stdout open: the exec still returns when its process exits.
  t0 = std::chrono::steady_clock::now();
  s = ExecSync("e", "x4", {"sh", "-c", "sleep 30 & echo done"}, &r);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(r.stdout(), "done\n");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);

  // An exec id is required.
  s = ExecSync("e", "", {"true"}, &r);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  Finish("e");
}

// The shim protocol under ExecSync: with chunked_output_limit the output arrives as
// OutputChunk frames of at most one read each while the process runs, capped per stream, then a
// final OK answer; without it (older clients) one frame holds both streams, held to what fits.
TEST_P(RuntimePluginTest, ShimExecSyncChunkedAndSingleFrame) {
  Create("ch", DefaultSpec({"sleep", "1000"}));
  ASSERT_TRUE(Start("ch").ok());
  std::string socket = TaskDir("ch") + "/shim.sock";
  auto exec = [](const std::string& exec_id, const std::string& script) {
    sv1::Request req;
    sv1::ExecRequest* e = req.mutable_exec();
    e->set_exec_id(exec_id);
    e->set_process_json(Process({"sh", "-c", script}).dump());
    e->set_sync(true);
    return req;
  };
  sv1::Request req = exec("c1",
                          "head -c 1000000 /dev/zero | tr '\\0' a; "
                          "head -c 300000 /dev/zero | tr '\\0' b >&2; exit 4");
  req.mutable_exec()->set_chunked_output_limit(200000);
  req.mutable_exec()->set_output_limit(10);  // unused with chunked replies
  std::string got[2];
  size_t frames = 0, largest = 0;
  Result<sv1::Response> out = runtime_shim::CallShimWithOutput(
      socket, req, 60000, [&](uint32_t stream, const std::string& data) {
        ASSERT_TRUE(stream == 1 || stream == 2) << stream;
        got[stream - 1] += data;
        ++frames;
        largest = std::max(largest, data.size());
      });
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->exec_sync().exit_status(), 4);
  EXPECT_TRUE(out->exec_sync().output_truncated());
  EXPECT_TRUE(out->exec_sync().stdout().empty());
  EXPECT_EQ(got[0], std::string(200000, 'a'));
  EXPECT_EQ(got[1], std::string(200000, 'b'));
  EXPECT_GE(frames, 400000u / 65536);
  EXPECT_LE(largest, 65536u);  // one read's worth: the shim holds nothing back

  // Under the limit: complete, not truncated.
  req = exec("c2", "echo hi; echo ho >&2");
  req.mutable_exec()->set_chunked_output_limit(200000);
  got[0].clear();
  got[1].clear();
  out = runtime_shim::CallShimWithOutput(socket, req, 60000,
                                         [&](uint32_t stream, const std::string& data) {
                                           if (stream == 1 || stream == 2) got[stream - 1] += data;
                                         });
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(got[0], "hi\n");
  EXPECT_EQ(got[1], "ho\n");
  EXPECT_FALSE(out->exec_sync().output_truncated());

  // Single frame: small output comes in the answer; output_limit 0 (once 16 MiB, more than a
  // frame holds) is held to what fits, so 3 MiB is RESOURCE_EXHAUSTED, not a dropped connection.
  out = runtime_shim::CallShim(socket, exec("s1", "echo hi; exit 2"));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->exec_sync().stdout(), "hi\n");
  EXPECT_EQ(out->exec_sync().exit_status(), 2);
  out = runtime_shim::CallShim(socket, exec("s2", "head -c 3145728 /dev/zero"));
  EXPECT_EQ(out.status().code(), StatusCode::kResourceExhausted) << out.status().ToString();
  EXPECT_NE(out.status().message().find("limit"), std::string::npos);
  Finish("ch");
}

TEST_P(RuntimePluginTest, ExecNonSyncWithFilesAndExitEvent) {
  Create("n", DefaultSpec({"sleep", "1000"}));
  ASSERT_TRUE(Start("n").ok());
  std::string out = state_->path() + "/n.out", err = state_->path() + "/n.err";
  pv1::ExecProcessRequest req;
  req.set_id("n");
  req.set_exec_id("p1");
  req.set_process_json(Process({"sh", "-c", "echo to-out; echo to-err >&2; exit 9"}).dump());
  req.mutable_io()->set_stdout(out);
  req.mutable_io()->set_stderr(err);
  Status s = Call("Exec", req);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(State("n", "p1").status(), pv1::TASK_STATUS_CREATED);
  ASSERT_TRUE(Start("n", "p1").ok());
  std::optional<pv1::TaskExitEvent> ev = WaitExit("n", "p1");
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->exit_status(), 9);
  EXPECT_GT(ev->pid(), 0u);
  pv1::TaskStateResponse st = State("n", "p1");
  EXPECT_EQ(st.status(), pv1::TASK_STATUS_STOPPED);
  EXPECT_EQ(st.exit_status(), 9);
  EXPECT_EQ(Delete("n", "p1").exit_status(), 9);
  EXPECT_EQ(*ReadFile(out), "to-out\n");
  EXPECT_EQ(*ReadFile(err), "to-err\n");
  EXPECT_EQ(State("n").status(), pv1::TASK_STATUS_RUNNING);  // the init is untouched

  // A long-running exec is killed through its exec id.
  req.set_exec_id("p2");
  req.set_process_json(Process({"sleep", "1000"}).dump());
  ASSERT_TRUE(Call("Exec", req).ok());
  ASSERT_TRUE(Start("n", "p2").ok());
  pv1::KillTaskRequest kill;
  kill.set_id("n");
  kill.set_exec_id("p2");
  kill.set_signal(SIGKILL);
  ASSERT_TRUE(Call("Kill", kill).ok());
  ev = WaitExit("n", "p2");
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->exit_status(), 137);
  Delete("n", "p2");
  Finish("n");
}

TEST_P(RuntimePluginTest, ExecWithTtyAndResize) {
  Create("tty", DefaultSpec({"sleep", "1000"}));
  ASSERT_TRUE(Start("tty").ok());
  std::string out = state_->path() + "/tty.out";
  pv1::ExecProcessRequest req;
  req.set_id("tty");
  req.set_exec_id("t1");
  nlohmann::json proc = Process({"sh", "-c", "stty size; tty"});
  proc["terminal"] = true;
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
  ASSERT_TRUE(Start("tty", "t1").ok());
  std::optional<pv1::TaskExitEvent> ev = WaitExit("tty", "t1");
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->exit_status(), 0);
  std::string text = *ReadFile(out);
  EXPECT_EQ(text.substr(0, text.find('\n') + 1), "40 100\r\n") << text;
  EXPECT_NE(text.find("/dev/pts/"), std::string::npos) << text;
  Delete("tty", "t1");
  Finish("tty");
}

TEST_P(RuntimePluginTest, StdinIsKeptOpenUntilClosed) {
  std::string fifo = state_->path() + "/stdin.fifo", log = state_->path() + "/in.log";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  Create("in", DefaultSpec({"sh", "-c", "while read l; do echo \"got $l\"; done; echo eof"}), log,
         fifo);
  ASSERT_TRUE(Start("in").ok());
  for (const char* text : {"one\n", "two\n"}) {  // two writers one after the other
    int fd = open(fifo.c_str(), O_WRONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(write(fd, text, strlen(text)), static_cast<ssize_t>(strlen(text)));
    close(fd);
  }
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(State("in").status(), pv1::TASK_STATUS_RUNNING);  // no EOF yet
  pv1::CloseIORequest close_stdin;  // through the plugin API (the shim's close_stdin)
  close_stdin.set_id("in");
  ASSERT_TRUE(Call("CloseIO", close_stdin).ok());
  std::optional<pv1::TaskExitEvent> ev = WaitExit("in");
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->exit_status(), 0);
  std::vector<std::string> want = {"stdout F got one", "stdout F got two", "stdout F eof"};
  EXPECT_EQ(LogLines(log), want);
  Delete("in");
}

TEST_P(RuntimePluginTest, ReopenLogRotates) {
  std::string log = state_->path() + "/r.log";
  Create("r",
         DefaultSpec({"sh", "-c",
                      "i=0; while true; do echo line$i; i=$((i+1)); "
                      "sleep 0.05; done"}),
         log);
  ASSERT_TRUE(Start("r").ok());
  std::this_thread::sleep_for(300ms);
  ASSERT_EQ(rename(log.c_str(), (log + ".1").c_str()), 0);
  pv1::ReopenLogRequest req;  // through the plugin API (the shim's reopen_log)
  req.set_id("r");
  Status s = Call("ReopenLog", req);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(std::filesystem::exists(log)) << "no new log file after ReopenLog";
  std::this_thread::sleep_for(300ms);
  Finish("r");
  // A task that is gone, or never was: NOT_FOUND.
  s = Call("ReopenLog", req);
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s.ToString();
  req.set_id("never");
  EXPECT_EQ(Call("ReopenLog", req).code(), StatusCode::kNotFound);
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
}

TEST_P(RuntimePluginTest, StatsAndUpdateResources) {
  nlohmann::json spec = DefaultSpec(
      {"sh", "-c", "i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done; sleep 1000 & wait"});
  spec["linux"]["resources"]["memory"] = {{"limit", 256 << 20}};
  Create("st", spec);
  ASSERT_TRUE(Start("st").ok());
  std::this_thread::sleep_for(500ms);
  pv1::TaskStatsRequest sreq;
  sreq.set_id("st");
  pv1::TaskStatsResponse stats;
  Status s = Call("Stats", sreq, &stats);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_GT(stats.timestamp_unix_nano(), 0);
  EXPECT_GT(stats.cpu_usage_core_nanoseconds(), 10'000'000u);  // the loop took CPU
  EXPECT_GT(stats.memory_usage_bytes(), 0u);
  EXPECT_GT(stats.memory_working_set_bytes(), 0u);
  EXPECT_EQ(stats.pids(), 2u);

  std::string mem = "/sys/fs/cgroup/memory" + cgroup_path_;
  std::string cpu = "/sys/fs/cgroup/cpu" + cgroup_path_;
  EXPECT_EQ(*ReadFile(mem + "/memory.limit_in_bytes"), std::to_string(256 << 20) + "\n");
  pv1::UpdateTaskRequest ureq;
  ureq.set_id("st");
  ureq.mutable_resources()->set_memory_limit_in_bytes(64 << 20);
  ureq.mutable_resources()->set_cpu_shares(512);
  ureq.mutable_resources()->set_cpu_quota(50000);
  ureq.mutable_resources()->set_cpu_period(100000);
  s = Call("Update", ureq);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(*ReadFile(mem + "/memory.limit_in_bytes"), std::to_string(64 << 20) + "\n");
  EXPECT_EQ(*ReadFile(cpu + "/cpu.shares"), "512\n");
  EXPECT_EQ(*ReadFile(cpu + "/cpu.cfs_quota_us"), "50000\n");
  EXPECT_EQ(*ReadFile(cpu + "/cpu.cfs_period_us"), "100000\n");
  // A bad value is refused with the runtime's reason and changes nothing.
  ureq.mutable_resources()->set_cpu_shares(0);
  ureq.mutable_resources()->set_memory_limit_in_bytes(0);
  ureq.mutable_resources()->set_cpuset_cpus("99999");
  s = Call("Update", ureq);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(*ReadFile(mem + "/memory.limit_in_bytes"), std::to_string(64 << 20) + "\n");
  Finish("st");
}

TEST_P(RuntimePluginTest, OomKillIsReported) {
  nlohmann::json spec = DefaultSpec({"sh", "-c", "tail /dev/zero"});
  spec["linux"]["resources"]["memory"] = {{"limit", 32 << 20}, {"swap", 32 << 20}};
  Create("oom", spec);
  ASSERT_TRUE(Start("oom").ok());
  std::optional<pv1::TaskExitEvent> ev = WaitExit("oom", "", 60s);
  ASSERT_TRUE(ev);
  EXPECT_TRUE(ev->oom_killed());
  EXPECT_EQ(ev->exit_status(), 137);
  EXPECT_TRUE(State("oom").oom_killed());
  Delete("oom");
}

TEST_P(RuntimePluginTest, PidsLimitIsEnforced) {
  // pids.max 6: the init, an inner sh and 4 sleeps; the inner sh's 5th fork is refused.
  nlohmann::json spec = DefaultSpec(
      {"sh", "-c", "sh -c 'for i in 1 2 3 4 5 6 7 8; do sleep 100 & done'; exec sleep 1000"});
  spec["linux"]["resources"]["pids"] = {{"limit", 6}};
  std::string log = state_->path() + "/pids.log";
  Create("pids", spec, log);
  ASSERT_TRUE(Start("pids").ok());
  std::this_thread::sleep_for(500ms);
  std::string dir = "/sys/fs/cgroup/pids" + cgroup_path_;
  EXPECT_EQ(*ReadFile(dir + "/pids.max"), "6\n");
  EXPECT_EQ(*ReadFile(dir + "/pids.current"), "5\n");  // sleep 1000 + 4 sleeps
  pv1::TaskStatsRequest sreq;
  sreq.set_id("pids");
  pv1::TaskStatsResponse stats;
  ASSERT_TRUE(Call("Stats", sreq, &stats).ok());
  EXPECT_EQ(stats.pids(), 5u);
  std::vector<std::string> lines = LogLines(log);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[0].substr(0, 9), "stderr F ") << lines[0];  // the shell's fork error
  Finish("pids");
}

INSTANTIATE_TEST_SUITE_P(Runtimes, RuntimePluginTest, ::testing::ValuesIn(RuntimeCases()),
                         CaseName);

// Not a skip: crun is an optional peer. This says, in the test output, whether it ran here.
TEST(RuntimePluginCrun, ReportsWhetherCrunRuns) {
  if (CrunProbe().empty()) {
    printf("crun: the suite runs against crun as well\n");
  } else {
    printf("crun: NOT part of the suite here: %s\n", CrunProbe().c_str());
    ::testing::Test::RecordProperty("crun_not_run", CrunProbe());
  }
}

}  // namespace
}  // namespace berth::native::testing
