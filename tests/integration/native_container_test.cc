// Real containers through berth_native_runtime: process, namespaces, rootfs, security knobs.

#include <sys/stat.h>

#include "plugins/runtime/native/lib/seccomp.h"
#include "tests/integration/native_fixture.h"

namespace berth::native::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

using Json = nlohmann::json;

TEST_F(NativeTest, ExitCodeAndOutput) {
  RunResult r = Run(DefaultSpec({"sh", "-c", "echo hello; exit 3"}));
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.output, "hello\n");
  EXPECT_EQ(r.exit_code, 3);
}

TEST_F(NativeTest, ArgsEnvCwd) {
  Json spec = DefaultSpec({"sh", "-c", "echo \"$FOO|$1\"; pwd", "argzero", "first arg"});
  spec["process"]["env"].push_back("FOO=bar baz");
  spec["process"]["cwd"] = "/tmp";
  RunResult r = Run(spec);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.output, "bar baz|first arg\n/tmp\n");
}

TEST_F(NativeTest, MissingExecutableFailsCreate) {
  RunResult r = Run(DefaultSpec({"/no/such/binary"}));
  EXPECT_EQ(r.status.code(), StatusCode::kNotFound) << r.status.ToString();
}

TEST_F(NativeTest, UserGroupsUmask) {
  Json spec = DefaultSpec({"sh", "-c", "id; umask"});
  spec["process"]["user"] = {
      {"uid", 1000}, {"gid", 1000}, {"additionalGids", {10, 20}}, {"umask", 077}};
  RunResult r = Run(spec);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_THAT(r.output, HasSubstr("uid=1000(berth) gid=1000"));
  EXPECT_THAT(r.output, HasSubstr("groups=10,20"));
  EXPECT_THAT(r.output, HasSubstr("0077"));
}

TEST_F(NativeTest, HostnameInNewUtsNamespace) {
  Json spec = DefaultSpec({"hostname"});
  spec["hostname"] = "berth-ctr";
  RunResult r = Run(spec);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.output, "berth-ctr\n");
}

TEST_F(NativeTest, PidNamespaceMakesInitPid1) {
  RunResult r = Run(DefaultSpec({"sh", "-c", "echo $$; ps -o pid | wc -l"}));
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.output.substr(0, 2), "1\n");
}

TEST_F(NativeTest, CapabilitiesAndNoNewPrivs) {
  Json spec = DefaultSpec({"grep", "-E", "^(Cap|NoNewPrivs|Seccomp:)", "/proc/self/status"});
  Json caps = {"CAP_CHOWN", "CAP_KILL"};  // bits 0 and 5
  spec["process"]["capabilities"] = {{"bounding", caps},
                                     {"effective", caps},
                                     {"permitted", caps},
                                     {"inheritable", caps},
                                     {"ambient", caps}};
  spec["process"]["user"] = {{"uid", 1000}, {"gid", 1000}};
  RunResult r = Run(spec);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_THAT(r.output, HasSubstr("CapEff:\t0000000000000021"));
  EXPECT_THAT(r.output, HasSubstr("CapBnd:\t0000000000000021"));
  EXPECT_THAT(r.output, HasSubstr("CapPrm:\t0000000000000021"));
  EXPECT_THAT(r.output, HasSubstr("CapInh:\t0000000000000021"));
  EXPECT_THAT(r.output, HasSubstr("CapAmb:\t0000000000000021"));
  EXPECT_THAT(r.output, HasSubstr("NoNewPrivs:\t1"));
}

TEST_F(NativeTest, NoCapabilitiesWhenAbsent) {
  Json spec = DefaultSpec({"grep", "^CapEff", "/proc/self/status"});
  spec["process"].erase("capabilities");
  RunResult r = Run(spec);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.output, "CapEff:\t0000000000000000\n");
}

TEST_F(NativeTest, SeccompRuleDeniesMkdir) {
  Json spec =
      DefaultSpec({"sh", "-c", "mkdir /tmp/x; echo rc=$?; grep ^Seccomp: /proc/self/status"});
  spec["linux"]["seccomp"] = {
      {"defaultAction", "SCMP_ACT_ALLOW"},
      {"syscalls",
       {{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 1}}}}};
  RunResult r = Run(spec);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_THAT(r.output, HasSubstr("Operation not permitted"));
  EXPECT_THAT(r.output, HasSubstr("rc=1"));
  EXPECT_THAT(r.output, HasSubstr("Seccomp:\t2"));
  EXPECT_FALSE(std::filesystem::exists(rootfs() + "/tmp/x"));
}

TEST_F(NativeTest, RuntimeDefaultProfileBlocksMountAndUnshare) {
  // CAP_SYS_ADMIN is granted, so only seccomp can stop these calls.
  Json spec = DefaultSpec({"sh", "-c",
                           "mount -t tmpfs none /tmp; echo mount=$?; unshare -U true; "
                           "echo unshare=$?; echo ok > /root/f && cat /root/f"});
  Json caps = {"CAP_SYS_ADMIN", "CAP_DAC_OVERRIDE"};
  spec["process"]["capabilities"] = {{"bounding", caps}, {"effective", caps}, {"permitted", caps}};
  Json profile;
  Seccomp def = RuntimeDefaultSeccompProfile({});  // as if the container had no SYS_ADMIN
  profile["defaultAction"] = def.default_action;
  profile["defaultErrnoRet"] = *def.default_errno_ret;
  profile["architectures"] = def.architectures;
  profile["syscalls"] = Json::array();
  for (const SeccompSyscall& s : def.syscalls) {
    Json j = {{"names", s.names}, {"action", s.action}};
    if (s.errno_ret) j["errnoRet"] = *s.errno_ret;
    for (const SeccompArg& a : s.args)
      j["args"].push_back(
          {{"index", a.index}, {"value", a.value}, {"valueTwo", a.value_two}, {"op", a.op}});
    profile["syscalls"].push_back(j);
  }
  // Control: without the profile the same container can mount and unshare.
  RunResult control = Run(spec);
  ASSERT_TRUE(control.status.ok()) << control.status.ToString();
  EXPECT_THAT(control.output, HasSubstr("mount=0"));
  EXPECT_THAT(control.output, HasSubstr("unshare=0"));
  spec["linux"]["seccomp"] = profile;
  RunResult r = Run(spec);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_THAT(r.output, HasSubstr("mount=1"));
  EXPECT_THAT(r.output, Not(HasSubstr("unshare=0")));
  EXPECT_THAT(r.output, HasSubstr("ok\n"));  // ordinary syscalls still work
}

TEST_F(NativeTest, ReadonlyRootfs) {
  Json spec = DefaultSpec({"sh", "-c", "touch /x 2>&1; echo rc=$?; touch /dev/shm/ok && echo shm"});
  spec["root"]["readonly"] = true;
  RunResult r = Run(spec);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_THAT(r.output, HasSubstr("Read-only file system"));
  EXPECT_THAT(r.output, HasSubstr("rc=1"));
  EXPECT_THAT(r.output, HasSubstr("shm"));
}

TEST_F(NativeTest, MaskedAndReadonlyPaths) {
  Json spec = DefaultSpec({"sh", "-c",
                           "echo keys=$(wc -c < /proc/keys); echo acpi=$(ls /proc/acpi | wc -l);"
                           "echo x > /proc/sys/kernel/domainname; echo rc=$?;"
                           "grep -c ' /sys ' /proc/mounts; grep ' /sys ' /proc/mounts"});
  RunResult r = Run(spec);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_THAT(r.output, HasSubstr("keys=0\n"));
  EXPECT_THAT(r.output, HasSubstr("acpi=0\n"));
  EXPECT_THAT(r.output, HasSubstr("Read-only file system"));
  EXPECT_THAT(r.output, HasSubstr("rc=1"));
  EXPECT_THAT(r.output, HasSubstr("sysfs ro,"));
}

TEST_F(NativeTest, DevContents) {
  Json spec =
      DefaultSpec({"sh", "-c",
                   "ls /dev | tr '\\n' ' '; echo; stat -c '%F %t:%T %a' /dev/null /dev/zero "
                   "/dev/urandom; readlink /dev/ptmx; echo x > /dev/null && echo null-ok;"
                   "grep -E ' /dev/(pts|shm|mqueue) ' /proc/mounts | cut -d' ' -f2,3"});
  spec["linux"]["devices"] = {
      {{"path", "/dev/fuse"}, {"type", "c"}, {"major", 10}, {"minor", 229}, {"fileMode", 0600}}};
  RunResult r = Run(spec);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  for (const char* d : {"null", "zero", "full", "random", "urandom", "tty", "ptmx", "pts", "shm",
                        "mqueue", "fd", "stdin", "stdout", "stderr", "fuse"})
    EXPECT_THAT(r.output, HasSubstr(std::string(d) + " ")) << d;
  EXPECT_THAT(r.output, HasSubstr("character special file 1:3 666"));
  EXPECT_THAT(r.output, HasSubstr("character special file 1:5 666"));
  EXPECT_THAT(r.output, HasSubstr("pts/ptmx"));
  EXPECT_THAT(r.output, HasSubstr("null-ok"));
  EXPECT_THAT(r.output, HasSubstr("/dev/pts devpts"));
  EXPECT_THAT(r.output, HasSubstr("/dev/shm tmpfs"));
  EXPECT_THAT(r.output, HasSubstr("/dev/mqueue mqueue"));
}

TEST_F(NativeTest, BindMountOptions) {
  ::berth::testing::TempDir vol;
  ASSERT_EQ(Sh("echo data > " + vol.path() + "/f"), 0);
  Json spec = DefaultSpec({"sh", "-c", "cat /data/f; echo y > /data/g; echo rc=$?"});
  spec["mounts"].push_back({{"destination", "/data"},
                            {"type", "bind"},
                            {"source", vol.path()},
                            {"options", {"rbind", "ro", "nosuid", "rprivate"}}});
  RunResult r = Run(spec);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_THAT(r.output, HasSubstr("data\n"));
  EXPECT_THAT(r.output, HasSubstr("Read-only file system"));
  EXPECT_FALSE(std::filesystem::exists(vol.path() + "/g"));
}

TEST_F(NativeTest, OnlyStdioReachesTheContainer) {
  // A non-CLOEXEC fd of the runtime process must not leak.
  int leaked = open("/", O_RDONLY);
  ASSERT_GE(leaked, 0);
  RunResult r = Run(DefaultSpec({"ls", "/proc/self/fd"}));
  close(leaked);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.output, "0\n1\n2\n3\n");  // 3 is ls's own directory fd
}

TEST_F(NativeTest, NamespacedSysctl) {
  Json spec = DefaultSpec({"cat", "/proc/sys/kernel/shmmni", "/proc/sys/net/ipv4/ip_forward"});
  spec["linux"]["sysctl"] = {{"kernel.shmmni", "1234"}, {"net.ipv4.ip_forward", "1"}};
  RunResult r = Run(spec);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.output, "1234\n1\n");
}

TEST_F(NativeTest, SysctlOutsideNamespaceRejected) {
  Json spec = DefaultSpec({"true"});
  spec["linux"]["sysctl"] = {{"kernel.panic", "1"}};
  EXPECT_EQ(Run(spec).status.code(), StatusCode::kInvalidArgument);
}

TEST_F(NativeTest, Rlimits) {
  Json spec = DefaultSpec({"sh", "-c", "ulimit -n; ulimit -Hn"});
  spec["process"]["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"soft", 123}, {"hard", 456}}};
  RunResult r = Run(spec);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.output, "123\n456\n");
}

TEST_F(NativeTest, OomScoreAdjFallsBackWithWarning) {
  std::string logs;
  Json spec = DefaultSpec({"cat", "/proc/self/oom_score_adj"});
  spec["process"]["oomScoreAdj"] = -999;
  Result<OciSpec> s = ParseSpec(spec);
  ASSERT_TRUE(s.ok());
  int p[2];
  ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
  CreateOptions o = Options(p[1]);
  o.logger = Logger(LogLevel::kInfo, [&](std::string_view line) { logs += line; });
  Result<Container> c = Create(*s, o);
  close(p[1]);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_TRUE(Start(c->init).ok());
  std::string out = ReadAll(p[0]);
  close(p[0]);
  RunResult r;
  Reap(c->init.pid, r);
  EXPECT_TRUE(Destroy(*c).ok());
  if (out == "-999\n") return;  // the host allows it: applied
  EXPECT_THAT(logs, HasSubstr("oom_score_adj not applied"));
  EXPECT_EQ(r.exit_code, 0);
}

TEST_F(NativeTest, TerminalGetsPty) {
  Json spec = DefaultSpec(
      {"sh", "-c", "test -t 0 && test -t 1 && echo is-a-tty; ls -l /dev/console | cut -c1"});
  spec["process"]["terminal"] = true;
  Result<OciSpec> s = ParseSpec(spec);
  ASSERT_TRUE(s.ok());
  Result<Container> c = Create(*s, Options(-1));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_TRUE(c->init.pty_master.valid());
  ASSERT_TRUE(Start(c->init).ok());
  std::string out;
  char buf[256];
  ssize_t n;
  while ((n = read(c->init.pty_master.get(), buf, sizeof(buf))) > 0)
    out.append(buf, n);  // EIO at hangup
  RunResult r;
  Reap(c->init.pid, r);
  EXPECT_TRUE(Destroy(*c).ok());
  EXPECT_THAT(out, HasSubstr("is-a-tty"));
  EXPECT_THAT(out, HasSubstr("c"));
}

TEST_F(NativeTest, StartTwiceFails) {
  Result<OciSpec> s = ParseSpec(DefaultSpec({"true"}));
  ASSERT_TRUE(s.ok());
  Result<Container> c = Create(*s, Options(-1));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_TRUE(Start(c->init).ok());
  EXPECT_EQ(Start(c->init).code(), StatusCode::kFailedPrecondition);
  RunResult r;
  Reap(c->init.pid, r);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(Destroy(*c).ok());
}

TEST_F(NativeTest, DestroyBeforeStartLeavesNothing) {
  Result<OciSpec> s = ParseSpec(DefaultSpec({"true"}));
  ASSERT_TRUE(s.ok());
  Result<Container> c = Create(*s, Options(-1));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(Destroy(*c).ok());
  RunResult r;
  Reap(c->init.pid, r);
  EXPECT_NE(r.exit_code, 0);  // never ran `true`
  EXPECT_FALSE(std::filesystem::exists("/sys/fs/cgroup/memory" + cgroup_path_));
}

}  // namespace
}  // namespace berth::native::testing
