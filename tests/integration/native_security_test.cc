// Regression tests for the container-escape classes the native runtime must resist. Each
// fails on a runtime with the corresponding flaw.

#include <sys/stat.h>

#include "tests/integration/native_fixture.h"

namespace berth::native::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using Json = nlohmann::json;

// CVE-2019-5736 class: while `Exec` sets up a process inside the container it still runs the
// runtime's binary; a container process must not be able to open that through
// /proc/<pid>/exe (to read it, or to overwrite the host binary).
TEST_F(NativeTest, ExecHelperBinaryUnreachableFromContainer) {
  Result<OciSpec> s = ParseSpec(DefaultSpec({"sleep", "30"}));
  ASSERT_TRUE(s.ok());
  Result<Container> c = Create(*s, Options(-1));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_TRUE(Start(c->init).ok());
  // A parked exec: fully set up inside the container, not yet exec'd (still our binary).
  ProcessSpec parked = s->process;
  parked.args = {"true"};
  Result<Process> helper = Exec(*c, parked, ExecOptions{});
  ASSERT_TRUE(helper.ok()) << helper.status().ToString();
  ProcessSpec attacker = s->process;
  attacker.args = {"sh", "-c",
                   "for d in /proc/[0-9]*; do p=${d#/proc/}; [ $p = 1 ] && continue;"
                   "[ $p = $$ ] && continue; echo seen $p;"
                   "head -c 4 $d/exe >/dev/null 2>&1 && echo READ $p;"
                   "(echo x >> $d/exe) 2>/dev/null && echo WROTE $p;"
                   "readlink $d/fd/0 >/dev/null 2>&1 && echo FDS $p; done"};
  int pipefd[2];
  ASSERT_EQ(pipe2(pipefd, O_CLOEXEC), 0);
  ExecOptions eo;
  eo.stdio.out = eo.stdio.err = pipefd[1];
  Result<Process> a = Exec(*c, attacker, eo);
  close(pipefd[1]);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(Start(*a).ok());
  std::string out = ReadAll(pipefd[0]);
  close(pipefd[0]);
  RunResult r;
  Reap(a->pid, r);
  EXPECT_THAT(out, HasSubstr("seen"));  // the helper is visible in the pid namespace
  EXPECT_THAT(out, Not(HasSubstr("READ")));
  EXPECT_THAT(out, Not(HasSubstr("WROTE")));
  EXPECT_THAT(out, Not(HasSubstr("FDS")));
  EXPECT_TRUE(Destroy(*c).ok());
  Reap(helper->pid, r);
  Reap(c->init.pid, r);
}

// CVE-2024-21626 class: a host directory fd the runtime holds open (without CLOEXEC, as a
// careless caller might) cannot become the container's working directory.
TEST_F(NativeTest, CwdCannotBeALeakedHostFd) {
  ::berth::testing::TempDir host;
  ASSERT_EQ(Sh("echo host-secret > " + host.path() + "/secret"), 0);
  int dir = open(host.path().c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(dir, 0);
  for (int fd = 3; fd <= 12; ++fd) {
    // Occupy low fd numbers with the host directory, as a leaked fd would.
    if (fcntl(fd, F_GETFD) < 0) {
      ASSERT_EQ(dup2(dir, fd), fd);
    }
  }
  std::vector<std::string> failures;
  for (int n : {3, 5, 7, 10}) {
    Json spec = DefaultSpec({"sh", "-c", "cat secret; pwd"});
    spec["process"]["cwd"] = "/proc/self/fd/" + std::to_string(n);
    RunResult r = Run(spec);
    if (r.status.ok() || r.output.find("host-secret") != std::string::npos)
      failures.push_back(std::to_string(n) + ": " + r.status.ToString() + " " + r.output);
  }
  for (int fd = 3; fd <= 12; ++fd) {
    struct stat a, b;
    if (fd != dir && fstat(fd, &a) == 0 && fstat(dir, &b) == 0 && a.st_ino == b.st_ino) close(fd);
  }
  close(dir);
  EXPECT_TRUE(failures.empty()) << ::testing::PrintToString(failures);
}

// CVE-2021-30465 class: mount destinations and masked paths that are symlinks pointing out of
// the rootfs are resolved inside it; nothing of the host is mounted over or masked.
TEST_F(NativeTest, SymlinkedMountTargetsStayInRootfs) {
  ::berth::testing::TempDir host;  // the "host path" the image's symlinks point at
  ASSERT_EQ(Sh("mkdir -p " + host.path() + "/target " + host.path() + "/target2 " + host.path() +
               "/masked && echo host > " + host.path() + "/masked/file"),
            0);
  ::berth::testing::TempDir vol;
  ASSERT_EQ(Sh("echo volume > " + vol.path() + "/v"), 0);
  // Absolute and ..-relative symlinks to the host directory.
  ASSERT_EQ(symlink((host.path() + "/target").c_str(), (rootfs() + "/evil").c_str()), 0);
  ASSERT_EQ(symlink(("../../../../../../../../.." + host.path() + "/target2").c_str(),
                    (rootfs() + "/evil2").c_str()),
            0);
  ASSERT_EQ(symlink((host.path() + "/masked").c_str(), (rootfs() + "/masked").c_str()), 0);
  Json spec = DefaultSpec({"sh", "-c",
                           "cat " + host.path() +
                               "/target/sub/v; cat /evil/sub/v; "
                               "grep -c ' " +
                               host.path() + "/target2 ' /proc/self/mountinfo"});
  spec["mounts"].push_back({{"destination", "/evil/sub"},
                            {"type", "bind"},
                            {"source", vol.path()},
                            {"options", {"rbind", "rw"}}});
  spec["mounts"].push_back({{"destination", "/evil2"}, {"type", "tmpfs"}, {"source", "tmpfs"}});
  spec["linux"]["maskedPaths"].push_back("/masked");
  std::unique_ptr<Container> c;
  RunResult r = Run(spec, &c);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  // Inside, the mounts sit where the symlinks resolve within the rootfs.
  EXPECT_EQ(r.output, "volume\nvolume\n1\n");
  // The host directories are untouched: nothing was created or mounted in them, in the
  // container's mount namespace either (checked through the container's mountinfo view).
  EXPECT_FALSE(std::filesystem::exists(host.path() + "/target/sub"));
  EXPECT_TRUE(std::filesystem::is_empty(host.path() + "/target2"));
  EXPECT_EQ(*ReadFile(host.path() + "/masked/file"), "host\n");
  EXPECT_TRUE(std::filesystem::exists(rootfs() + host.path() + "/target/sub"));
  EXPECT_TRUE(Destroy(*c).ok());
  // And on the host side nothing is mounted at the host path.
  EXPECT_THAT(*ReadFile("/proc/self/mountinfo"), Not(HasSubstr(host.path())));
}

}  // namespace
}  // namespace berth::native::testing
