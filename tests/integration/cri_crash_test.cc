// Crash safety of pods and containers (root): a real berthd with the real `cni` plugin (Debian's
// bridge + host-local), the overlay snapshotter, the native runtime and the imported busybox
// image. Each round runs a loop of pod and container operations (run pod, create, start, stop,
// remove container, stop/remove pod, remove an older running pod) while another thread SIGKILLs
// berthd at a random moment (seeded: CRASH_SEED=<n> replays a run; the seed is printed). berthd
// is restarted and the state checked against reality:
//   - every READY pod has its netns (a namespace mount), an IP of the test range and its
//     host-local allocation; every pod the client saw run and never stopped is READY;
//   - every listed container belongs to a listed pod; running containers are running for real
//     (ExecSync works) and every container the client saw start and never stopped still runs.
// At the end everything is removed and nothing may be left: mounts under berthd's dirs, pod
// state (netns files), veths on the test bridge, host-local allocations, the pods' cgroups
// (all under a test-owned cgroup parent), berth-shim processes and infra containers (/pause) of
// this berthd.
//
// Test-unique host state: bridge "bcrsh<n>", 10.195.<n>.0/24, no masquerade, ip_forward restored,
// a FORWARD DROP rule for the bridge, cgroup parent "/berthcrash<pid>".

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api/cri.h"
#include "common/fs.h"
#include "images.grpc.pb.h"
#include "tests/integration/image_service_fixture.h"
#include "tests/support/berthd_process.h"
#include "tests/support/test_env.h"
#include "tests/support/test_pod_network.h"

namespace berth::testing {
namespace {

namespace cri = ::runtime::v1;
using namespace std::chrono_literals;

constexpr const char* kBusybox = "docker.io/library/busybox:test";

int Sh(const std::string& cmd) { return std::system(cmd.c_str()); }

std::string Out(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>/dev/null").c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

std::string Slurp(const std::string& p) {
  auto r = ReadFile(p);
  return r.ok() ? *r : "";
}

bool Exists(const std::string& p) { return std::filesystem::exists(p); }

bool Mounted(const std::string& path) {
  return Slurp("/proc/self/mountinfo").find(" " + path + " ") != std::string::npos;
}

// Pids of live (non-zombie) processes whose NUL-separated command line contains `needle`, or
// whose cgroup file contains `cgroup_needle` (when not empty).
std::vector<std::string> Processes(const std::string& exe, const std::string& needle,
                                   const std::string& cgroup_needle) {
  std::vector<std::string> found;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    std::string pid = e.path().filename();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmd = Slurp("/proc/" + pid + "/cmdline");
    if (cmd.find(exe) == std::string::npos) continue;
    std::string stat = Slurp("/proc/" + pid + "/stat");
    size_t p = stat.rfind(')');
    if (p == std::string::npos || stat.substr(p + 2, 1) == "Z") continue;
    bool hit = !needle.empty() && cmd.find(needle) != std::string::npos;
    if (!cgroup_needle.empty() &&
        Slurp("/proc/" + pid + "/cgroup").find(cgroup_needle) != std::string::npos) {
      hit = true;
    }
    if (hit) found.push_back(pid + " " + cmd);
  }
  return found;
}

class CriCrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    BERTH_REQUIRE_ROOT();
    ASSERT_TRUE(TestImages::Get().ok()) << TestImages::Get().error();
    pid_ = std::to_string(getpid());
    net_ = std::make_unique<TestPodNetwork>(tmp_.path(), "berth-crash", "bcrsh", 195);
    prefix_ = net_->prefix();
    bridge_ = net_->bridge();
    cgroup_parent_ = "/berthcrash" + pid_;
    conf_dir_ = net_->conf_dir();
    data_dir_ = net_->data_dir();
    ASSERT_TRUE(net_->Setup());
    ASSERT_TRUE(net_->WriteConflist({net_->BridgePlugin()}, "10-crash.conflist"));
    // Shim sockets are <state_dir>/tasks/<64-hex id>/shim.sock: keep the plugin's state dir
    // short for the 107-byte sun_path limit.
    nlohmann::json cfg = {{"snapshotter", "overlay"},
                          {"sandbox_image", kTestPauseImage},
                          {"plugins",
                           {{"io.berth.runtime.v1/native", {{"state_dir", shim_dir_.path()}}},
                            {"cni", {{"conf_dir", conf_dir_}, {"bin_dirs", {"/usr/lib/cni"}}}}}}};
    ASSERT_TRUE(AtomicWriteFile(tmp_ / "berthd.json", cfg.dump(2)).ok());
    berthd_ = std::make_unique<BerthdProcess>(
        std::vector<std::string>{"--config", tmp_ / "berthd.json"}, BERTH_PLUGIN_BUILD_DIR);
    ASSERT_TRUE(berthd_->Start(20000)) << berthd_->Stderr();
    Connect();
    ASSERT_FALSE(Import("busybox", kBusybox).empty());
    ASSERT_FALSE(Import("pause", kTestPauseImage).empty());
  }

  void TearDown() override {
    std::vector<std::string> dirs = {tmp_.path(), shim_dir_.path()};
    if (berthd_) {
      dirs.push_back(berthd_->state());
      dirs.push_back(berthd_->root());
      if (HasFailure()) {
        std::cerr << "berthd stderr (this run):\n" << berthd_->Stderr() << "\n";
      }
      // Best effort after a failure: leave the host clean.
      if (berthd_->pid() > 0 && rt_) {
        for (const auto& p : ListPods()) (void)RemovePod(p.id());
      }
      berthd_->Stop(SIGTERM);
    }
    // After a failure: no shim of this test may outlive it (the checks already reported it),
    // and no mount may stay under its temp dirs.
    for (const auto& p : Processes("berth-shim", shim_dir_.path(), "")) {
      ::kill(std::stoi(p.substr(0, p.find(' '))), SIGKILL);
    }
    if (!Processes("berth-shim", shim_dir_.path(), "").empty()) std::this_thread::sleep_for(1s);
    for (const std::string& dir : dirs) {
      Sh("grep -F ' " + dir +
         "/' /proc/self/mountinfo | awk '{print $5}' | sort -r | "
         "while read -r m; do umount -l \"$m\"; done");
    }
    berthd_.reset();  // removes its temp dir: only once nothing is mounted below it
    for (const auto& c : {"cpu", "cpuacct", "memory", "pids", "freezer", "devices", "blkio",
                          "cpuset", "systemd", "unified"}) {
      Sh(std::string("rmdir /sys/fs/cgroup/") + c + cgroup_parent_ + " 2>/dev/null");
    }
    Sh("rmdir /sys/fs/cgroup" + cgroup_parent_ + " 2>/dev/null");
    net_.reset();  // the bridge, FORWARD rule and ip_forward
  }

  std::string NetName() const { return net_->name(); }

  void Connect() {
    auto ch = grpc::CreateChannel(berthd_->endpoint(), grpc::InsecureChannelCredentials());
    rt_ = cri::RuntimeService::NewStub(ch);
    images_ = berth::v1::Images::NewStub(ch);
  }

  static void Deadline(grpc::ClientContext& ctx, int s = 60) {
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(s));
  }

  std::string Import(const std::string& layout, const std::string& name) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    berth::v1::ImportImageRequest req;
    berth::v1::ImportImageResponse resp;
    req.set_path(TestImages::Get().path(layout));
    req.set_name(name);
    grpc::Status s = images_->Import(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return s.ok() && resp.images_size() ? resp.images(0).id() : "";
  }

  cri::PodSandboxConfig PodConfig(const std::string& name) const {
    cri::PodSandboxConfig c;
    c.mutable_metadata()->set_name(name);
    c.mutable_metadata()->set_namespace_("crash");
    c.mutable_metadata()->set_uid("uid-" + name + "-" + pid_);
    c.set_hostname(name);
    c.set_log_directory(tmp_ / ("logs/" + name));
    // Every pod cgroup under a test-owned parent: leaks are visible without racing other tests.
    c.mutable_linux()->set_cgroup_parent(cgroup_parent_ + "/" + name);
    // Half the pods share a PID namespace (an infra container), half do not.
    c.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(
        std::hash<std::string>{}(name) % 2 ? cri::POD : cri::CONTAINER);
    return c;
  }

  grpc::Status RunPod(const cri::PodSandboxConfig& c, std::string* id) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    cri::RunPodSandboxRequest req;
    *req.mutable_config() = c;
    cri::RunPodSandboxResponse resp;
    grpc::Status s = rt_->RunPodSandbox(&ctx, req, &resp);
    *id = resp.pod_sandbox_id();
    return s;
  }
  grpc::Status StopPod(const std::string& id) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    cri::StopPodSandboxRequest req;
    req.set_pod_sandbox_id(id);
    cri::StopPodSandboxResponse resp;
    return rt_->StopPodSandbox(&ctx, req, &resp);
  }
  grpc::Status RemovePod(const std::string& id) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    cri::RemovePodSandboxRequest req;
    req.set_pod_sandbox_id(id);
    cri::RemovePodSandboxResponse resp;
    return rt_->RemovePodSandbox(&ctx, req, &resp);
  }
  grpc::Status Create(const std::string& pod, const cri::PodSandboxConfig& pc,
                      const std::string& name, std::string* id) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    cri::CreateContainerRequest req;
    req.set_pod_sandbox_id(pod);
    auto* c = req.mutable_config();
    c->mutable_metadata()->set_name(name);
    c->mutable_image()->set_image(kBusybox);
    c->add_command("sleep");
    c->add_command("100000");
    c->set_log_path(name + ".log");
    *req.mutable_sandbox_config() = pc;
    cri::CreateContainerResponse resp;
    grpc::Status s = rt_->CreateContainer(&ctx, req, &resp);
    *id = resp.container_id();
    return s;
  }
  grpc::Status Start(const std::string& id) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    cri::StartContainerRequest req;
    req.set_container_id(id);
    cri::StartContainerResponse resp;
    return rt_->StartContainer(&ctx, req, &resp);
  }
  grpc::Status StopContainer(const std::string& id) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    cri::StopContainerRequest req;
    req.set_container_id(id);
    req.set_timeout(0);
    cri::StopContainerResponse resp;
    return rt_->StopContainer(&ctx, req, &resp);
  }
  grpc::Status RemoveContainer(const std::string& id) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    cri::RemoveContainerRequest req;
    req.set_container_id(id);
    cri::RemoveContainerResponse resp;
    return rt_->RemoveContainer(&ctx, req, &resp);
  }

  std::vector<cri::PodSandbox> ListPods() {
    grpc::ClientContext ctx;
    Deadline(ctx);
    cri::ListPodSandboxRequest req;
    cri::ListPodSandboxResponse resp;
    grpc::Status s = rt_->ListPodSandbox(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return {resp.items().begin(), resp.items().end()};
  }
  std::vector<cri::Container> ListContainers() {
    grpc::ClientContext ctx;
    Deadline(ctx);
    cri::ListContainersRequest req;
    cri::ListContainersResponse resp;
    grpc::Status s = rt_->ListContainers(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return {resp.containers().begin(), resp.containers().end()};
  }
  // {ip, verbose info} of a pod.
  std::pair<std::string, nlohmann::json> PodStatus(const std::string& id) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    cri::PodSandboxStatusRequest req;
    req.set_pod_sandbox_id(id);
    req.set_verbose(true);
    cri::PodSandboxStatusResponse resp;
    grpc::Status s = rt_->PodSandboxStatus(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << id << ": " << s.error_message();
    nlohmann::json info = resp.info().count("info")
                              ? nlohmann::json::parse(resp.info().at("info"), nullptr, false)
                              : nlohmann::json();
    return {resp.status().network().ip(), info};
  }
  bool ExecEcho(const std::string& id) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    cri::ExecSyncRequest req;
    req.set_container_id(id);
    req.add_cmd("echo");
    req.add_cmd("alive");
    req.set_timeout(20);
    cri::ExecSyncResponse resp;
    grpc::Status s = rt_->ExecSync(&ctx, req, &resp);
    return s.ok() && resp.exit_code() == 0 && resp.stdout() == "alive\n";
  }

  // What the client knows for sure (an RPC answered OK). In-flight operations at the kill are
  // not recorded: either outcome is fine for them.
  struct Known {
    std::map<std::string, cri::PodSandboxConfig> ready_pods;  // run OK, no stop/remove sent
    std::map<std::string, std::string> running;               // container -> pod; start OK
    std::deque<std::string> survivors;                        // pods left running, oldest first
  };

  // One round's operations until an RPC fails (berthd was killed) or `stop` is set.
  void OpsLoop(int round, Known* k, const std::atomic<bool>& stop) {
    for (int it = 0; !stop; ++it) {
      // (appends, not "r" + to_string(): GCC 12's -Wrestrict false positive in Release)
      std::string name = "r";
      name += std::to_string(round);
      name += "-p";
      name += std::to_string(it);
      // Remove the oldest survivor (a READY pod with a running container: stop first).
      if (k->survivors.size() >= 3) {
        std::string old = k->survivors.front();
        k->ready_pods.erase(old);
        for (auto c = k->running.begin(); c != k->running.end();) {
          c = c->second == old ? k->running.erase(c) : std::next(c);
        }
        if (!RemovePod(old).ok()) return;
        k->survivors.pop_front();
      }
      cri::PodSandboxConfig pc = PodConfig(name);
      std::string pod, ctr;
      if (!RunPod(pc, &pod).ok()) return;
      k->ready_pods[pod] = pc;
      if (!Create(pod, pc, "c", &ctr).ok()) return;
      if (!Start(ctr).ok()) return;
      k->running[ctr] = pod;
      if (it % 2 == 1) {  // keep this one running across the next kills
        k->survivors.push_back(pod);
        continue;
      }
      k->running.erase(ctr);
      if (!StopContainer(ctr).ok()) return;
      if (!RemoveContainer(ctr).ok()) return;
      k->ready_pods.erase(pod);
      if (!StopPod(pod).ok()) return;
      if (!RemovePod(pod).ok()) return;
    }
  }

  // The listed state agrees with reality and with what the client knows.
  void CheckConsistent(int round, Known* k) {
    SCOPED_TRACE("after the kill in round " + std::to_string(round));
    std::map<std::string, cri::PodSandbox> pods;
    for (const auto& p : ListPods()) pods[p.id()] = p;
    for (const auto& [id, p] : pods) {
      auto [ip, info] = PodStatus(id);
      std::string netns = info.is_object() ? info.value("netNamespacePath", "") : "";
      if (p.state() == cri::SANDBOX_READY) {
        EXPECT_TRUE(Mounted(netns)) << "READY pod " << id << " without its netns " << netns;
        EXPECT_EQ(ip.rfind(prefix_, 0), 0u) << "READY pod " << id << " ip '" << ip << "'";
        EXPECT_TRUE(!ip.empty() && Exists(data_dir_ + "/" + NetName() + "/" + ip))
            << "no host-local allocation for " << id << " " << ip;
        if (info.is_object() && info.value("pid", 0) > 0) {
          EXPECT_TRUE(Exists("/proc/" + std::to_string(info.value("pid", 0))))
              << "infra process of READY pod " << id << " is gone";
        }
      }
      // A NOTREADY pod may still hold its netns (a stop cut short by the kill): the next
      // Stop/Remove finishes it, and the checks after removing everything catch any leak.
    }
    for (const auto& [id, pc] : k->ready_pods) {
      auto p = pods.find(id);
      ASSERT_NE(p, pods.end()) << "pod " << id << " (" << pc.metadata().name() << ") vanished";
      EXPECT_EQ(p->second.state(), cri::SANDBOX_READY) << "pod " << id << " not READY";
    }
    std::map<std::string, cri::Container> ctrs;
    for (const auto& c : ListContainers()) {
      ctrs[c.id()] = c;
      EXPECT_TRUE(pods.count(c.pod_sandbox_id()))
          << "container " << c.id() << " of unlisted pod " << c.pod_sandbox_id();
      if (c.state() == cri::CONTAINER_RUNNING) {
        EXPECT_TRUE(ExecEcho(c.id())) << "running container " << c.id() << " cannot exec";
        auto p = pods.find(c.pod_sandbox_id());
        EXPECT_TRUE(p != pods.end() && p->second.state() == cri::SANDBOX_READY)
            << "running container " << c.id() << " in a pod that is not READY";
      }
    }
    for (const auto& [id, pod] : k->running) {
      auto c = ctrs.find(id);
      ASSERT_NE(c, ctrs.end()) << "running container " << id << " vanished";
      EXPECT_EQ(c->second.state(), cri::CONTAINER_RUNNING) << "container " << id;
    }
    // Continue from what is there: READY pods with a running container are the survivors;
    // anything else listed (stopped, half-done by the kill) is removed now.
    Known next;
    for (const auto& [id, c] : ctrs) {
      auto p = pods.find(c.pod_sandbox_id());
      if (c.state() == cri::CONTAINER_RUNNING && p != pods.end() &&
          p->second.state() == cri::SANDBOX_READY && !next.ready_pods.count(p->first)) {
        next.ready_pods[p->first] = {};
        next.running[id] = p->first;
        next.survivors.push_back(p->first);
      }
    }
    for (const auto& [id, p] : pods) {
      if (next.ready_pods.count(id)) continue;
      grpc::Status s = RemovePod(id);
      EXPECT_TRUE(s.ok()) << "remove leftover pod " << id << ": " << s.error_message();
    }
    *k = std::move(next);
  }

  void ExpectNothingLeft() {
    EXPECT_TRUE(ListPods().empty());
    EXPECT_TRUE(ListContainers().empty());
    for (const std::string& dir : {berthd_->state(), berthd_->root(), shim_dir_.path()}) {
      EXPECT_EQ(Out("grep -F " + dir + "/ /proc/self/mountinfo"), "") << "mounts left";
    }
    EXPECT_EQ(Out("ls -A " + berthd_->state() + "/pods"), "") << "pod state (netns) left";
    EXPECT_EQ(Out("find " + berthd_->state() + " " + berthd_->root() + " -path '*/ns/*'"), "")
        << "namespace files left";
    EXPECT_EQ(Out("ls -A " + berthd_->root() + "/pods"), "") << "pod records left";
    EXPECT_EQ(Out("ls -A " + berthd_->root() + "/containers"), "") << "container records left";
    EXPECT_EQ(Out("ls -A " + berthd_->state() + "/containers"), "") << "bundles left";
    EXPECT_EQ(Out("ip -o link show master " + bridge_), "") << "veths left on the bridge";
    EXPECT_EQ(Out("ls " + data_dir_ + "/" + NetName() + " | grep -c '^10\\.'"), "0\n")
        << "IP allocations left";
    EXPECT_EQ(Out("find /sys/fs/cgroup -mindepth 2 -maxdepth 3 -type d -path '*" + cgroup_parent_ +
                  "/*'"),
              "")
        << "pod cgroups left";
    for (const auto& p : Processes("berth-shim", shim_dir_.path(), "")) {
      ADD_FAILURE() << "berth-shim left: " << p;
    }
    for (const auto& p : Processes("/pause", "", cgroup_parent_)) {
      ADD_FAILURE() << "infra process left: " << p;
    }
    EXPECT_EQ(Out("ls -A " + berthd_->state() + "/infra"), "") << "infra bundles left";
  }

  TempDir tmp_, shim_dir_;
  std::unique_ptr<TestPodNetwork> net_;
  std::string pid_, prefix_, bridge_, cgroup_parent_, conf_dir_, data_dir_;
  std::string all_logs_;
  std::unique_ptr<BerthdProcess> berthd_;
  std::unique_ptr<cri::RuntimeService::Stub> rt_;
  std::unique_ptr<berth::v1::Images::Stub> images_;
};

TEST_F(CriCrashTest, SigkillDuringPodAndContainerOperations) {
  const char* env_seed = getenv("CRASH_SEED");
  const char* env_rounds = getenv("CRASH_ROUNDS");
  unsigned seed = env_seed ? static_cast<unsigned>(std::strtoul(env_seed, nullptr, 10))
                           : static_cast<unsigned>(std::random_device{}());
  int rounds = env_rounds && atoi(env_rounds) > 0 ? atoi(env_rounds) : 6;
  std::cout << "cri_crash_test: CRASH_SEED=" << seed << " rounds=" << rounds << std::endl;
  RecordProperty("crash_seed", std::to_string(seed));
  std::mt19937 rng(seed);
  Known known;
  for (int round = 0; round < rounds && !HasFatalFailure(); ++round) {
    int delay_ms = std::uniform_int_distribution<int>(10, 2500)(rng);
    std::cout << "round " << round << ": SIGKILL after " << delay_ms << " ms" << std::endl;
    std::atomic<bool> stop{false};
    pid_t pid = berthd_->pid();
    std::thread killer([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
      ::kill(pid, SIGKILL);
      stop = true;
    });
    OpsLoop(round, &known, stop);
    killer.join();
    ASSERT_NE(berthd_->WaitExit(10000), -1) << "berthd did not die";
    std::string before = berthd_->Stderr();
    all_logs_ += "---- berthd until the kill in round " + std::to_string(round) + "\n" + before;
    ASSERT_TRUE(berthd_->Start(20000)) << "restart after round " << round << ":\n"
                                       << berthd_->Stderr() << "\nbefore the kill:\n"
                                       << before;
    Connect();
    CheckConsistent(round, &known);
    if (HasFailure()) {
      std::cerr << "berthd stderr before the kill (round " << round << "):\n"
                << before.substr(before.size() > 20000 ? before.size() - 20000 : 0) << "\n";
      break;
    }
  }
  for (const auto& p : ListPods()) {
    grpc::Status s = RemovePod(p.id());
    EXPECT_TRUE(s.ok()) << "remove pod " << p.id() << ": " << s.error_message();
  }
  ExpectNothingLeft();
  all_logs_ += "---- berthd after the last restart\n" + berthd_->Stderr();
  // Every round's berthd log, for a failure's post-mortem (CRASH_LOG=<file>).
  if (const char* log = getenv("CRASH_LOG")) (void)AtomicWriteFile(log, all_logs_);
  // And once more after a clean stop: nothing reappears or stays mounted.
  berthd_->Stop(SIGTERM);
  EXPECT_EQ(Out("grep -F " + tmp_.path() + " /proc/self/mountinfo"), "") << "mounts left";
  EXPECT_EQ(Out("grep -F " + shim_dir_.path() + " /proc/self/mountinfo"), "") << "mounts left";
}

}  // namespace
}  // namespace berth::testing
