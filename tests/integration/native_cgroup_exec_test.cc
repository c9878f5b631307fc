// Cgroups (v1 for real on this host; v2 against the host's cgroup2 mount) and exec.

#include <poll.h>
#include <sys/stat.h>

#include "tests/integration/native_fixture.h"

namespace berth::native::testing {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;

bool IsV1Host() { return std::filesystem::exists("/sys/fs/cgroup/memory/memory.limit_in_bytes"); }

class NativeCgroupTest : public NativeTest {};

TEST_F(NativeCgroupTest, MemoryLimitOomKillIsReported) {
  if (!IsV1Host()) GTEST_SKIP() << "host is not cgroup v1";
  Json spec = DefaultSpec({"dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"});
  spec["linux"]["resources"] = {{"memory", {{"limit", 16 << 20}, {"swap", 16 << 20}}}};
  Result<OciSpec> s = ParseSpec(spec);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  Result<Container> c = Create(*s, Options(-1));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  Result<int> oom = c->cgroup->OomEventFd();
  ASSERT_TRUE(oom.ok()) << oom.status().ToString();
  UniqueFd oom_fd(*oom);
  ASSERT_TRUE(Start(c->init).ok());
  RunResult r;
  Reap(c->init.pid, r);
  EXPECT_EQ(r.signal, SIGKILL);
  pollfd p{oom_fd.get(), POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, 5000), 1) << "no OOM notification";
  Result<CgroupStats> st = c->cgroup->Stats();
  ASSERT_TRUE(st.ok());
  EXPECT_GE(st->oom_kill_count, 1u);
  EXPECT_EQ(st->memory_limit, 16u << 20);
  EXPECT_TRUE(Destroy(*c).ok());
}

TEST_F(NativeCgroupTest, PidsLimitEnforcedAndCgroupRemoved) {
  if (!IsV1Host()) GTEST_SKIP() << "host is not cgroup v1";
  Json spec = DefaultSpec({"sh", "-c", "for i in 1 2 3 4 5 6 7 8; do sleep 2 & done; wait"});
  spec["linux"]["resources"] = {{"pids", {{"limit", 4}}},
                                {"cpu", {{"shares", 512}, {"quota", 50000}, {"period", 100000}}}};
  std::unique_ptr<Container> c;
  RunResult r = Run(spec, &c);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_THAT(r.output, HasSubstr("can't fork"));
  std::string base = "/sys/fs/cgroup/";
  EXPECT_EQ(*ReadFile(base + "pids" + cgroup_path_ + "/pids.max"), "4\n");
  EXPECT_EQ(*ReadFile(base + "cpu" + cgroup_path_ + "/cpu.shares"), "512\n");
  EXPECT_EQ(*ReadFile(base + "cpu" + cgroup_path_ + "/cpu.cfs_quota_us"), "50000\n");
  EXPECT_TRUE(Destroy(*c).ok());
  for (const char* ctrl :
       {"pids", "memory", "cpu", "cpuset", "devices", "blkio", "cpuacct", "freezer"})
    EXPECT_FALSE(std::filesystem::exists(base + ctrl + cgroup_path_)) << ctrl;
}

TEST_F(NativeCgroupTest, UpdateAndStatsWhileRunning) {
  if (!IsV1Host()) GTEST_SKIP() << "host is not cgroup v1";
  Result<OciSpec> s = ParseSpec(DefaultSpec({"sleep", "30"}));
  ASSERT_TRUE(s.ok());
  Result<Container> c = Create(*s, Options(-1));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_TRUE(Start(c->init).ok());
  Resources r;
  r.memory.limit = 64 << 20;
  r.pids_limit = 10;
  r.cpu.cpus = "0";
  ASSERT_TRUE(c->cgroup->Update(r).ok());
  EXPECT_EQ(*ReadFile("/sys/fs/cgroup/memory" + cgroup_path_ + "/memory.limit_in_bytes"),
            std::to_string(64 << 20) + "\n");
  EXPECT_EQ(*ReadFile("/sys/fs/cgroup/cpuset" + cgroup_path_ + "/cpuset.cpus"), "0\n");
  Result<CgroupStats> st = c->cgroup->Stats();
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_GT(st->memory_usage, 0u);
  EXPECT_GT(st->cpu_usage_ns, 0u);
  EXPECT_EQ(st->pids_current, 1u);
  Result<std::vector<pid_t>> pids = c->cgroup->Pids();
  ASSERT_TRUE(pids.ok());
  EXPECT_EQ(*pids, std::vector<pid_t>{c->init.pid});
  EXPECT_TRUE(Destroy(*c).ok());
  RunResult rr;
  Reap(c->init.pid, rr);
  EXPECT_EQ(rr.signal, SIGKILL);
}

TEST_F(NativeCgroupTest, ExecJoinsNamespacesAndCgroup) {
  Result<OciSpec> s = ParseSpec(DefaultSpec({"sleep", "30"}));
  ASSERT_TRUE(s.ok());
  Result<Container> c = Create(*s, Options(-1));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_TRUE(Start(c->init).ok());
  ProcessSpec p = s->process;
  p.args = {"sh", "-c",
            "echo pid=$$; tr '\\0' ' ' < /proc/1/cmdline; echo; hostname; for n in pid mnt net; "
            "do readlink /proc/self/ns/$n; done; echo fds: $(ls /proc/self/fd)"};
  p.cwd = "/tmp";
  int pipefd[2];
  ASSERT_EQ(pipe2(pipefd, O_CLOEXEC), 0);
  ExecOptions eo;
  eo.stdio.out = eo.stdio.err = pipefd[1];
  Result<Process> e = Exec(*c, p, eo);
  close(pipefd[1]);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  std::string host_cgroup = *ReadFile("/proc/" + std::to_string(e->pid) + "/cgroup");
  ASSERT_TRUE(Start(*e).ok());
  std::string out = ReadAll(pipefd[0]);
  close(pipefd[0]);
  RunResult r;
  Reap(e->pid, r);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(out, HasSubstr("sleep 30 \n"));
  EXPECT_THAT(out, HasSubstr("berth\n"));
  EXPECT_THAT(out, ::testing::Not(HasSubstr("pid=1\n")));
  for (const char* ns : {"pid", "mnt", "net"}) {
    char link[128] = {};
    ASSERT_GT(readlink(("/proc/" + std::to_string(c->init.pid) + "/ns/" + ns).c_str(), link,
                       sizeof(link) - 1),
              0);
    EXPECT_THAT(out, HasSubstr(link)) << ns;
  }
  EXPECT_THAT(out, HasSubstr("fds: 0 1 2 3\n")) << "exec leaked fds";
  EXPECT_EQ(host_cgroup, *ReadFile("/proc/" + std::to_string(c->init.pid) + "/cgroup"));
  EXPECT_TRUE(Destroy(*c).ok());
  Reap(c->init.pid, r);
}

// cgroup v2 through the host's unified mount (/sys/fs/cgroup/unified here, which holds only
// hugetlb): CLONE_INTO_CGROUP placement, stats from core files, cleanup, and a clear error for
// controllers the hierarchy does not offer.
TEST_F(NativeCgroupTest, V2PlacementAndUnavailableControllers) {
  const std::string root = "/sys/fs/cgroup/unified";
  if (!std::filesystem::exists(root + "/cgroup.controllers")) GTEST_SKIP() << "no cgroup2 mount";
  Json spec = DefaultSpec({"cat", "/proc/self/cgroup"});
  spec["linux"]["resources"] = {{"pids", {{"limit", 10}}}};
  Result<OciSpec> s = ParseSpec(spec);
  ASSERT_TRUE(s.ok());
  CreateOptions o = Options(-1);
  o.cgroup.version = CgroupConfig::Version::kV2;
  o.cgroup.v2_root = root;
  std::string controllers = *ReadFile(root + "/cgroup.controllers");
  if (controllers.find("pids") == std::string::npos) {
    Result<Container> bad = Create(*s, o);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_THAT(bad.status().message(), HasSubstr("controller pids is not available"));
    EXPECT_FALSE(std::filesystem::exists(root + cgroup_path_));
  }
  spec["linux"].erase("resources");
  s = ParseSpec(spec);
  int pipefd[2];
  ASSERT_EQ(pipe2(pipefd, O_CLOEXEC), 0);
  o.stdio.out = pipefd[1];
  Result<Container> c = Create(*s, o);
  close(pipefd[1]);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->cgroup->version(), 2);
  // Placed at clone time: the v2 line of the host view names our cgroup.
  EXPECT_THAT(*ReadFile("/proc/" + std::to_string(c->init.pid) + "/cgroup"),
              HasSubstr("0::" + cgroup_path_ + "\n"));
  Result<CgroupStats> st = c->cgroup->Stats();
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->pids_current, 1u);
  ASSERT_TRUE(Start(c->init).ok());
  std::string out = ReadAll(pipefd[0]);
  close(pipefd[0]);
  RunResult r;
  Reap(c->init.pid, r);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(out, HasSubstr("0::/\n"));  // the new cgroup namespace is rooted at our cgroup
  EXPECT_TRUE(Destroy(*c).ok());
  EXPECT_FALSE(std::filesystem::exists(root + cgroup_path_));
}

}  // namespace
}  // namespace berth::native::testing
