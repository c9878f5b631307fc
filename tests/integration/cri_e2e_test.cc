// CRI end to end (root): a real berthd with the real `cni` network plugin (Debian's bridge +
// host-local + portmap), the overlay snapshotter, the native runtime and the imported busybox
// test image; real pods on a real bridge (not host network) running real containers, driven
// over the CRI gRPC API like a kubelet would.
//
// Covered: pod-to-pod HTTP over the bridge (busybox httpd + wget) and host-to-pod, a
// hostNetwork pod seeing the host's interfaces, hostPort on loopback and the gateway via portmap,
// DNS/hostname/hosts in the container, shared IPC and PID namespaces, OOMKilled, ReopenContainerLog
// rotation, ExecSync timeout and output cap, container stats, GetContainerEvents and a prompt
// berthd shutdown with an events stream open.
//
// Everything is test-unique: bridge "be2e<n>", subnet 10.197.<n>.0/24, no masquerade, host-local
// dataDir, conf dir, berthd root/state, shim state dir. ip_forward is saved and restored, and a
// FORWARD DROP rule keeps anything from the test bridge from being forwarded off it. Every test
// ends by removing its pods and checking nothing is left: no netns, veth, IP allocation, pod or
// container cgroup, mount or state directory.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
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

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string Slurp(const std::string& p) {
  auto r = ReadFile(p);
  return r.ok() ? *r : "";
}

bool Exists(const std::string& p) { return std::filesystem::exists(p); }

// A TCP port nothing listens on right now, other than `not_this`.
int FreePort(int not_this = 0) {
  for (int port = 20000 + getpid() % 20000;; ++port) {
    if (port != not_this && Out("ss -Htln 'sport = :" + std::to_string(port) + "'").empty())
      return port;
  }
}

class CriE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    BERTH_REQUIRE_ROOT();
    ASSERT_TRUE(TestImages::Get().ok()) << TestImages::Get().error();
    pid_ = std::to_string(getpid());
    net_ = std::make_unique<TestPodNetwork>(tmp_.path(), "berth-e2e", "be2e", 197,
                                            /*clean_hostport=*/true);
    prefix_ = net_->prefix();
    bridge_ = net_->bridge();
    conf_dir_ = net_->conf_dir();
    data_dir_ = net_->data_dir();
    ASSERT_TRUE(net_->Setup());
    ASSERT_TRUE(net_->WriteConflist({net_->BridgePlugin(), TestPodNetwork::PortmapPlugin()},
                                    "10-e2e.conflist"));
    // Shim sockets are <state_dir>/tasks/<64-hex id>/shim.sock: keep the plugin's state dir
    // short for the 107-byte sun_path limit. Keyed by type/name: a bare "native" would reach
    // the native snapshotter too, which rejects state_dir and is then not loaded.
    nlohmann::json cfg = {{"snapshotter", "overlay"},
                          {"sandbox_image", kTestPauseImage},
                          {"plugins",
                           {{"io.berth.runtime.v1/native", {{"state_dir", shim_dir_.path()}}},
                            {"io.berth.runtime.v1/oci", {{"state_dir", oci_dir_.path()}}},
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
    if (berthd_) {
      if (rt_ && Exists(berthd_->socket())) {
        for (const auto& c : ListContainers()) (void)RemoveContainer(c.id());
        for (const std::string& p : pods_) {
          grpc::ClientContext ctx;
          Deadline(ctx);
          cri::RemovePodSandboxRequest req;
          cri::RemovePodSandboxResponse resp;
          req.set_pod_sandbox_id(p);
          grpc::Status s = rt_->RemovePodSandbox(&ctx, req, &resp);
          EXPECT_TRUE(s.ok()) << "remove pod " << p << ": " << s.error_message();
        }
        ExpectNothingLeft();
      }
      if (HasFailure()) std::cerr << "berthd stderr:\n" << berthd_->Stderr() << "\n";
      // Hang up first: an idle client connection holds berthd's gRPC shutdown for ~5 s.
      rt_.reset();
      images_.reset();
      berthd_->Stop(SIGTERM);
      EXPECT_EQ(Out("grep -F " + tmp_.path() + " /proc/self/mountinfo"), "") << "mounts left";
      EXPECT_EQ(Out("grep -F " + shim_dir_.path() + " /proc/self/mountinfo"), "") << "mounts left";
      berthd_.reset();
    }
    net_.reset();  // the bridge, FORWARD rule, ip_forward and portmap chains
  }

  std::string NetName() const { return net_->name(); }

  // Everything pods and containers may leave on the host, absent (all pods removed).
  void ExpectNothingLeft() {
    EXPECT_TRUE(ListContainers().empty());
    for (const std::string& p : pods_) {
      for (const char* c : {"cpu", "cpuacct", "memory", "pids", "freezer", "devices"}) {
        EXPECT_FALSE(Exists(std::string("/sys/fs/cgroup/") + c + "/berth/" + p))
            << c << " cgroup of pod " << p;
      }
    }
    EXPECT_EQ(Out("ls -A " + berthd_->state() + "/pods"), "") << "pod state dirs left";
    EXPECT_EQ(Out("ls -A " + berthd_->root() + "/pods"), "") << "pod records left";
    EXPECT_EQ(Out("ls -A " + berthd_->root() + "/containers"), "") << "container records left";
    EXPECT_EQ(Out("ls -A " + berthd_->state() + "/containers"), "") << "bundles left";
    EXPECT_EQ(Out("ls -A " + berthd_->state() + "/infra"), "") << "infra bundles left";
    EXPECT_EQ(Out("ip -o link show master " + bridge_), "") << "veths left on the bridge";
    EXPECT_EQ(Out("ls " + data_dir_ + "/" + NetName() + " 2>/dev/null | grep -c '^10\\.'"), "0\n")
        << "IP allocations left";
    EXPECT_EQ(Out("grep -F " + berthd_->state() + "/ /proc/self/mountinfo"), "") << "mounts left";
    EXPECT_EQ(Out("grep -F " + berthd_->root() + "/ /proc/self/mountinfo"), "") << "mounts left";
  }

  void Connect() {
    // Exec output may be large: an ExecSyncResponse holds up to 16 MiB per stream (kubelet
    // takes 16 MiB messages; the output cap test needs both streams full).
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(40 * 1024 * 1024);
    auto ch =
        grpc::CreateCustomChannel(berthd_->endpoint(), grpc::InsecureChannelCredentials(), args);
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
    c.mutable_metadata()->set_namespace_("e2e");
    c.mutable_metadata()->set_uid("uid-" + name + "-" + pid_);
    c.set_hostname(name);
    c.set_log_directory(tmp_ / ("logs/" + name));
    (*c.mutable_labels())["app"] = name;
    return c;
  }

  std::string RunPod(const cri::PodSandboxConfig& c, const std::string& handler = "") {
    grpc::ClientContext ctx;
    Deadline(ctx);
    cri::RunPodSandboxRequest req;
    *req.mutable_config() = c;
    req.set_runtime_handler(handler);
    cri::RunPodSandboxResponse resp;
    grpc::Status s = rt_->RunPodSandbox(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message() << "\n" << berthd_->Stderr();
    if (!s.ok()) return "";
    pods_.push_back(resp.pod_sandbox_id());
    configs_[resp.pod_sandbox_id()] = c;
    return resp.pod_sandbox_id();
  }

  std::string PodIp(const std::string& pod) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    cri::PodSandboxStatusRequest req;
    req.set_pod_sandbox_id(pod);
    cri::PodSandboxStatusResponse resp;
    grpc::Status s = rt_->PodSandboxStatus(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.status().network().ip();
  }

  // The host pid of the pod's infra process (PodSandboxStatus verbose info), 0 when none.
  int InfraPid(const std::string& pod) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    cri::PodSandboxStatusRequest req;
    req.set_pod_sandbox_id(pod);
    req.set_verbose(true);
    cri::PodSandboxStatusResponse resp;
    grpc::Status s = rt_->PodSandboxStatus(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    auto info = nlohmann::json::parse(resp.info().at("info"), nullptr, false);
    return info.is_object() ? info.value("pid", 0) : 0;
  }

  cri::ContainerConfig Config(const std::string& name, std::vector<std::string> cmd) const {
    cri::ContainerConfig c;
    c.mutable_metadata()->set_name(name);
    c.mutable_image()->set_image(kBusybox);
    for (auto& a : cmd) c.add_command(a);
    c.set_log_path(name + ".log");
    return c;
  }

  // Creates and starts `config` in `pod`; "" (with a failure) when either fails.
  std::string RunIn(const std::string& pod, const cri::ContainerConfig& config) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    cri::CreateContainerRequest req;
    cri::CreateContainerResponse resp;
    req.set_pod_sandbox_id(pod);
    *req.mutable_config() = config;
    *req.mutable_sandbox_config() = configs_[pod];
    grpc::Status s = rt_->CreateContainer(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << "create " << config.metadata().name() << ": " << s.error_message();
    if (!s.ok()) return "";
    grpc::ClientContext ctx2;
    Deadline(ctx2);
    cri::StartContainerRequest sreq;
    cri::StartContainerResponse sresp;
    sreq.set_container_id(resp.container_id());
    s = rt_->StartContainer(&ctx2, sreq, &sresp);
    EXPECT_TRUE(s.ok()) << "start " << config.metadata().name() << ": " << s.error_message();
    return s.ok() ? resp.container_id() : "";
  }

  grpc::Status RemoveContainer(const std::string& id) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    cri::RemoveContainerRequest req;
    cri::RemoveContainerResponse resp;
    req.set_container_id(id);
    return rt_->RemoveContainer(&ctx, req, &resp);
  }

  grpc::Status StopContainer(const std::string& id, int64_t timeout) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    cri::StopContainerRequest req;
    cri::StopContainerResponse resp;
    req.set_container_id(id);
    req.set_timeout(timeout);
    return rt_->StopContainer(&ctx, req, &resp);
  }

  cri::ContainerStatus Status(const std::string& id) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    cri::ContainerStatusRequest req;
    cri::ContainerStatusResponse resp;
    req.set_container_id(id);
    grpc::Status s = rt_->ContainerStatus(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.status();
  }

  cri::ContainerStatus WaitExited(const std::string& id, int seconds = 30) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    cri::ContainerStatus st;
    while (std::chrono::steady_clock::now() < deadline) {
      st = Status(id);
      if (st.state() == cri::CONTAINER_EXITED) return st;
      std::this_thread::sleep_for(50ms);
    }
    ADD_FAILURE() << "container " << id << " did not exit";
    return st;
  }

  std::vector<cri::Container> ListContainers() {
    grpc::ClientContext ctx;
    Deadline(ctx);
    cri::ListContainersRequest req;
    cri::ListContainersResponse resp;
    EXPECT_TRUE(rt_->ListContainers(&ctx, req, &resp).ok());
    return {resp.containers().begin(), resp.containers().end()};
  }

  grpc::Status Exec(const std::string& id, const std::vector<std::string>& cmd,
                    cri::ExecSyncResponse* out, int64_t timeout = 20) {
    grpc::ClientContext ctx;
    Deadline(ctx, 120);
    cri::ExecSyncRequest req;
    req.set_container_id(id);
    for (const auto& c : cmd) req.add_cmd(c);
    req.set_timeout(timeout);
    return rt_->ExecSync(&ctx, req, out);
  }

  // stdout of an exec that must succeed with exit code 0.
  std::string ExecOut(const std::string& id, const std::vector<std::string>& cmd) {
    cri::ExecSyncResponse r;
    grpc::Status s = Exec(id, cmd, &r);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(r.exit_code(), 0) << r.stderr();
    return r.stdout();
  }

  // Retries `cmd` in `id` until it exits 0 (a server may still be starting); its stdout.
  std::string ExecUntilOk(const std::string& id, const std::vector<std::string>& cmd,
                          int tries = 50) {
    cri::ExecSyncResponse r;
    for (int i = 0; i < tries; ++i) {
      grpc::Status s = Exec(id, cmd, &r);
      if (s.ok() && r.exit_code() == 0) return r.stdout();
      std::this_thread::sleep_for(100ms);
    }
    ADD_FAILURE() << "never succeeded: " << cmd.back() << ": exit " << r.exit_code() << " "
                  << r.stdout() << r.stderr() << "; container state "
                  << cri::ContainerState_Name(Status(id).state()) << ", log:\n"
                  << Slurp(Status(id).log_path());
    return "";
  }

  // A busybox httpd serving `page` on :8080 from /www.
  cri::ContainerConfig HttpServer(const std::string& name, const std::string& page) const {
    return Config(name, {"sh", "-c",
                         "mkdir -p /www && echo '" + page +
                             "' > /www/index.html && exec httpd -f -p 8080 -h /www"});
  }

  std::string LogPath(const std::string& pod_name, const std::string& name) const {
    return tmp_ / ("logs/" + pod_name + "/" + name + ".log");
  }

  TempDir tmp_, shim_dir_, oci_dir_;
  std::unique_ptr<TestPodNetwork> net_;
  std::string pid_, prefix_, bridge_, conf_dir_, data_dir_;
  std::unique_ptr<BerthdProcess> berthd_;
  std::unique_ptr<cri::RuntimeService::Stub> rt_;
  std::unique_ptr<berth::v1::Images::Stub> images_;
  std::vector<std::string> pods_;
  std::map<std::string, cri::PodSandboxConfig> configs_;
};

// After the whole suite: no test bridge, FORWARD rule or portmap rule of this process left.
class NothingLeftEnvironment : public ::testing::Environment {
 public:
  void TearDown() override {
    if (!WhyNotRoot().empty()) return;
    std::string pid = std::to_string(getpid());
    EXPECT_EQ(Out("ip -o link show be2e" + std::to_string(getpid() % 100000)), "");
    EXPECT_EQ(Out("iptables -S FORWARD | grep -c berth-e2e-" + pid), "0\n");
    EXPECT_EQ(Out("ip -o link show type veth | grep -c be2e"), "0\n");
  }
};
const auto* const kNothingLeft = ::testing::AddGlobalTestEnvironment(new NothingLeftEnvironment);

// 1. Two pods on the bridge: pod B's container fetches pod A's page by pod IP; so does the host.
TEST_F(CriE2eTest, PodToPodHttpOverTheBridge) {
  std::string a = RunPod(PodConfig("web-a"));
  std::string b = RunPod(PodConfig("web-b"));
  ASSERT_FALSE(a.empty());
  ASSERT_FALSE(b.empty());
  std::string ipa = PodIp(a), ipb = PodIp(b);
  ASSERT_EQ(ipa.rfind(prefix_, 0), 0u) << ipa;
  ASSERT_EQ(ipb.rfind(prefix_, 0), 0u) << ipb;
  ASSERT_NE(ipa, ipb);
  std::string srv_a = RunIn(a, HttpServer("httpd", "hello from a"));
  std::string srv_b = RunIn(b, HttpServer("httpd", "hello from b"));
  ASSERT_FALSE(srv_a.empty());
  ASSERT_FALSE(srv_b.empty());
  // The container's network is the pod's: eth0 holds the pod IP.
  EXPECT_NE(ExecOut(srv_a, {"ip", "-o", "-4", "addr", "show", "eth0"}).find(ipa + "/24"),
            std::string::npos);
  EXPECT_EQ(ExecUntilOk(srv_b, {"wget", "-qO-", "http://" + ipa + ":8080/"}), "hello from a\n");
  EXPECT_EQ(ExecUntilOk(srv_a, {"wget", "-qO-", "http://" + ipb + ":8080/"}), "hello from b\n");
  // The host reaches the pod through the bridge's gateway address.
  EXPECT_EQ(Out("timeout 10 busybox wget -qO- http://" + ipa + ":8080/"), "hello from a\n");
}

// 1b. A hostNetwork pod's container sees the host's network: same namespace, same interfaces,
// no veth on the test bridge and no pod IP.
TEST_F(CriE2eTest, HostNetworkPodSeesTheHostInterfaces) {
  cri::PodSandboxConfig c = PodConfig("hostnet");
  c.clear_hostname();
  c.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_network(
      cri::NODE);
  std::string pod = RunPod(c);
  ASSERT_FALSE(pod.empty());
  EXPECT_EQ(PodIp(pod), "");
  std::string ctr = RunIn(pod, Config("main", {"sleep", "1000"}));
  ASSERT_FALSE(ctr.empty());
  EXPECT_EQ(ExecOut(ctr, {"readlink", "/proc/self/ns/net"}), Out("readlink /proc/self/ns/net"));
  std::string links = ExecOut(ctr, {"ip", "-o", "link", "show"});
  std::string dev = Trim(Out("ip route show default | awk '{print $5; exit}'"));
  ASSERT_FALSE(dev.empty());
  EXPECT_NE(links.find(": " + dev + ":"), std::string::npos) << links;
  EXPECT_EQ(ExecOut(ctr, {"hostname"}), Out("hostname"));
  EXPECT_EQ(Out("ip -o link show master " + bridge_), "");
}

// 1c. A privileged container in a privileged pod: every capability berthd holds, the host's
// device nodes, /sys writable, no seccomp filter.
TEST_F(CriE2eTest, PrivilegedContainerSeesHostDevicesAndCapabilities) {
  cri::PodSandboxConfig c = PodConfig("priv");
  c.mutable_linux()->mutable_security_context()->set_privileged(true);
  std::string pod = RunPod(c);
  ASSERT_FALSE(pod.empty());
  cri::ContainerConfig cc = Config("main", {"sleep", "1000"});
  cc.mutable_linux()->mutable_security_context()->set_privileged(true);
  std::string ctr = RunIn(pod, cc);
  ASSERT_FALSE(ctr.empty());
  std::string status = ExecOut(ctr, {"cat", "/proc/self/status"});
  std::string host_bnd = Trim(Out("grep CapBnd /proc/self/status | cut -f2"));
  EXPECT_NE(status.find("CapEff:\t" + host_bnd), std::string::npos) << status;
  EXPECT_NE(status.find("Seccomp:\t0"), std::string::npos);
  // A host device that no unprivileged container gets: the kernel log.
  ASSERT_EQ(::access("/dev/kmsg", F_OK), 0);
  EXPECT_EQ(Trim(ExecOut(ctr, {"sh", "-c", "test -c /dev/kmsg && echo yes"})), "yes");
  // Writable although the pod's unprivileged infra container mounted the pod's (one, shared)
  // sysfs read-only first: read-only belongs to that mount, not to the filesystem.
  EXPECT_EQ(Trim(ExecOut(ctr, {"sh", "-c", "grep ' /sys ' /proc/mounts | grep -c rw,"})), "1");
}

// 1d. Exec, Attach and PortForward check their request before handing out a URL.
TEST_F(CriE2eTest, StreamingRpcsValidateTheirInput) {
  std::string pod = RunPod(PodConfig("streams"));
  ASSERT_FALSE(pod.empty());
  std::string ctr = RunIn(pod, Config("main", {"sleep", "1000"}));
  std::string done = RunIn(pod, Config("done", {"true"}));
  ASSERT_FALSE(ctr.empty());
  ASSERT_FALSE(done.empty());
  WaitExited(done);
  auto exec = [&](const std::string& id, std::vector<std::string> cmd, bool in, bool out, bool err,
                  bool tty, std::string* url = nullptr) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    cri::ExecRequest req;
    req.set_container_id(id);
    for (auto& c : cmd) req.add_cmd(c);
    req.set_stdin(in);
    req.set_stdout(out);
    req.set_stderr(err);
    req.set_tty(tty);
    cri::ExecResponse resp;
    grpc::Status s = rt_->Exec(&ctx, req, &resp);
    if (url) *url = resp.url();
    return s.error_code();
  };
  using C = grpc::StatusCode;
  EXPECT_EQ(exec("", {"sh"}, false, true, false, false), C::INVALID_ARGUMENT);
  EXPECT_EQ(exec(ctr, {}, false, true, false, false), C::INVALID_ARGUMENT);
  EXPECT_EQ(exec(ctr, {"sh"}, false, false, false, false), C::INVALID_ARGUMENT);  // no stream
  EXPECT_EQ(exec(ctr, {"sh"}, true, true, true, true), C::INVALID_ARGUMENT);      // tty + stderr
  EXPECT_EQ(exec(std::string(64, 'f'), {"sh"}, false, true, false, false), C::NOT_FOUND);
  EXPECT_EQ(exec(done, {"sh"}, false, true, false, false), C::FAILED_PRECONDITION);
  std::string url;
  EXPECT_EQ(exec(ctr.substr(0, 12), {"sh"}, true, true, false, true, &url), C::OK);
  EXPECT_EQ(url.rfind("http://127.0.0.1:", 0), 0u) << url;
  EXPECT_NE(url.find("/exec/"), std::string::npos) << url;

  {
    grpc::ClientContext ctx;
    Deadline(ctx);
    cri::AttachRequest req;
    req.set_container_id(done);
    req.set_stdout(true);
    cri::AttachResponse resp;
    EXPECT_EQ(rt_->Attach(&ctx, req, &resp).error_code(), C::FAILED_PRECONDITION);
  }
  auto forward = [&](const std::string& id, std::vector<int> ports, std::string* url = nullptr) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    cri::PortForwardRequest req;
    req.set_pod_sandbox_id(id);
    for (int p : ports) req.add_port(p);
    cri::PortForwardResponse resp;
    grpc::Status s = rt_->PortForward(&ctx, req, &resp);
    if (url) *url = resp.url();
    return s.error_code();
  };
  EXPECT_EQ(forward("", {80}), C::INVALID_ARGUMENT);
  EXPECT_EQ(forward(pod, {0}), C::INVALID_ARGUMENT);
  EXPECT_EQ(forward(pod, {65536}), C::INVALID_ARGUMENT);
  EXPECT_EQ(forward(std::string(64, 'f'), {80}), C::NOT_FOUND);
  EXPECT_EQ(forward(pod, {80}, &url), C::OK);
  EXPECT_NE(url.find("/portforward/"), std::string::npos) << url;
}

// 2. hostPort through portmap, reachable from the host on loopback and on the bridge gateway.
TEST_F(CriE2eTest, HostPortReachableFromTheHost) {
  int port = FreePort();
  cri::PodSandboxConfig c = PodConfig("hostport");
  auto* pm = c.add_port_mappings();
  pm->set_protocol(cri::TCP);
  pm->set_container_port(8080);
  pm->set_host_port(port);
  // A second port bound to loopback only.
  int lo_port = FreePort(port);
  pm = c.add_port_mappings();
  pm->set_protocol(cri::TCP);
  pm->set_container_port(8080);
  pm->set_host_port(lo_port);
  pm->set_host_ip("127.0.0.1");
  std::string pod = RunPod(c);
  ASSERT_FALSE(pod.empty());
  std::string srv = RunIn(pod, HttpServer("httpd", "hello via hostport"));
  ASSERT_FALSE(srv.empty());
  std::string ip = PodIp(pod);
  ExecUntilOk(srv, {"wget", "-qO-", "http://" + ip + ":8080/"});
  std::string gw = prefix_ + "1";
  EXPECT_EQ(Out("timeout 10 busybox wget -qO- http://" + gw + ":" + std::to_string(port) + "/"),
            "hello via hostport\n")
      << "via the bridge gateway " << gw;
  // Loopback needs route_localnet on the bridge and the hairpin masquerade, both portmap's job.
  EXPECT_EQ(Out("timeout 10 busybox wget -qO- http://127.0.0.1:" + std::to_string(port) + "/"),
            "hello via hostport\n")
      << "via 127.0.0.1";
  EXPECT_EQ(Out("timeout 10 busybox wget -qO- http://127.0.0.1:" + std::to_string(lo_port) + "/"),
            "hello via hostport\n")
      << "host_ip 127.0.0.1 via 127.0.0.1";
  EXPECT_EQ(Out("timeout 5 busybox wget -qO- http://" + gw + ":" + std::to_string(lo_port) + "/"),
            "")
      << "a port bound to 127.0.0.1 answered on " << gw;
  // Removing the pod removes the DNAT rule.
  grpc::ClientContext ctx;
  Deadline(ctx);
  cri::RemovePodSandboxRequest req;
  cri::RemovePodSandboxResponse resp;
  req.set_pod_sandbox_id(pod);
  ASSERT_TRUE(rt_->RemovePodSandbox(&ctx, req, &resp).ok());
  EXPECT_EQ(Out("iptables -t nat -S | grep -c -- '--dport " + std::to_string(port) + " '"), "0\n");
}

// 3. DNS config, hostname and /etc/hosts of the pod inside its container.
TEST_F(CriE2eTest, DnsHostnameAndHostsInTheContainer) {
  cri::PodSandboxConfig c = PodConfig("dns");
  c.set_hostname("dns-host");
  c.mutable_dns_config()->add_servers("10.96.0.10");
  c.mutable_dns_config()->add_servers("10.96.0.11");
  c.mutable_dns_config()->add_searches("e2e.svc.cluster.local");
  c.mutable_dns_config()->add_searches("svc.cluster.local");
  c.mutable_dns_config()->add_options("ndots:5");
  std::string pod = RunPod(c);
  ASSERT_FALSE(pod.empty());
  std::string ctr = RunIn(pod, Config("main", {"sleep", "1000"}));
  ASSERT_FALSE(ctr.empty());
  EXPECT_EQ(ExecOut(ctr, {"cat", "/etc/resolv.conf"}),
            "search e2e.svc.cluster.local svc.cluster.local\n"
            "nameserver 10.96.0.10\nnameserver 10.96.0.11\noptions ndots:5\n");
  EXPECT_EQ(ExecOut(ctr, {"hostname"}), "dns-host\n");
  EXPECT_EQ(ExecOut(ctr, {"cat", "/proc/sys/kernel/hostname"}), "dns-host\n");
  std::string hosts = ExecOut(ctr, {"cat", "/etc/hosts"});
  std::string ip = PodIp(pod);
  EXPECT_NE(hosts.find(ip + "\tdns-host"), std::string::npos) << hosts;
  EXPECT_NE(hosts.find("127.0.0.1"), std::string::npos) << hosts;
  EXPECT_EQ(ExecOut(ctr, {"cat", "/etc/hostname"}), "dns-host\n");
}

// 4. IPC shared by the containers of a pod; PID shared with namespace_options.pid = POD and
// separate with CONTAINER.
TEST_F(CriE2eTest, SharedIpcAndPidNamespaces) {
  cri::PodSandboxConfig c = PodConfig("shared");
  c.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(cri::POD);
  std::string pod = RunPod(c);
  ASSERT_FALSE(pod.empty());
  cri::ContainerConfig one = Config("one", {"sh", "-c", "exec sleep 1001"});
  cri::ContainerConfig two = Config("two", {"sh", "-c", "exec sleep 1002"});
  for (auto* cc : {&one, &two}) {
    cc->mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(cri::POD);
  }
  std::string c1 = RunIn(pod, one);
  std::string c2 = RunIn(pod, two);
  ASSERT_FALSE(c1.empty());
  ASSERT_FALSE(c2.empty());
  // IPC: one namespace for the pod, not the host's; /dev/shm is shared too.
  std::string ipc1 = ExecOut(c1, {"readlink", "/proc/self/ns/ipc"});
  EXPECT_FALSE(ipc1.empty());
  EXPECT_EQ(ipc1, ExecOut(c2, {"readlink", "/proc/self/ns/ipc"}));
  EXPECT_NE(ipc1, Out("readlink /proc/self/ns/ipc"));
  ExecOut(c1, {"sh", "-c", "echo shared-memory > /dev/shm/berth-e2e"});
  EXPECT_EQ(ExecOut(c2, {"cat", "/dev/shm/berth-e2e"}), "shared-memory\n");
  // PID: each container sees the other's process.
  std::string ps2 = ExecOut(c2, {"ps", "-o", "pid,args"});
  EXPECT_NE(ps2.find("sleep 1001"), std::string::npos) << ps2;
  EXPECT_NE(ps2.find("sleep 1002"), std::string::npos) << ps2;
  EXPECT_EQ(ExecOut(c1, {"readlink", "/proc/self/ns/pid"}),
            ExecOut(c2, {"readlink", "/proc/self/ns/pid"}));
  // PID 1 there is the sandbox image's /pause (the infra container), and it reaps orphans: a
  // process whose parent exits is re-parented to it and must not stay a zombie.
  EXPECT_TRUE(std::regex_search(ps2, std::regex(R"(^\s*1 /pause)", std::regex::multiline))) << ps2;
  int infra = InfraPid(pod);
  ASSERT_GT(infra, 1);
  EXPECT_EQ(Out("readlink /proc/" + std::to_string(infra) + "/ns/pid"),
            ExecOut(c1, {"readlink", "/proc/self/ns/pid"}));
  EXPECT_NE(Slurp("/proc/" + std::to_string(infra) + "/status").find("Uid:\t65535"),
            std::string::npos)
      << "the image's User runs /pause";
  ExecOut(c1, {"sh", "-c", "(sleep 0.2 &) ; true"});
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  std::string zombies = Out("for s in /proc/[0-9]*/stat; do awk '$4 == " + std::to_string(infra) +
                            " && $3 == \"Z\"' $s 2>/dev/null; done");
  EXPECT_EQ(zombies, "") << "orphans of the shared PID namespace left as zombies";

  // Separate PID namespaces: each container's process is pid 1 and sees only its own.
  cri::PodSandboxConfig sep = PodConfig("separate");
  sep.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(
      cri::CONTAINER);
  std::string pod2 = RunPod(sep);
  ASSERT_FALSE(pod2.empty());
  cri::ContainerConfig three = Config("three", {"sh", "-c", "exec sleep 1003"});
  cri::ContainerConfig four = Config("four", {"sh", "-c", "exec sleep 1004"});
  for (auto* cc : {&three, &four}) {
    cc->mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(
        cri::CONTAINER);
  }
  std::string c3 = RunIn(pod2, three);
  std::string c4 = RunIn(pod2, four);
  ASSERT_FALSE(c3.empty());
  ASSERT_FALSE(c4.empty());
  std::string ps4 = ExecOut(c4, {"ps", "-o", "pid,args"});
  EXPECT_EQ(ps4.find("sleep 1003"), std::string::npos) << ps4;
  EXPECT_NE(ps4.find("sleep 1004"), std::string::npos) << ps4;
  EXPECT_TRUE(std::regex_search(ps4, std::regex(R"(^\s*1 sleep 1004)", std::regex::multiline)))
      << ps4;
  EXPECT_NE(ExecOut(c3, {"readlink", "/proc/self/ns/pid"}),
            ExecOut(c4, {"readlink", "/proc/self/ns/pid"}));
  // IPC is still the pod's.
  EXPECT_EQ(ExecOut(c3, {"readlink", "/proc/self/ns/ipc"}),
            ExecOut(c4, {"readlink", "/proc/self/ns/ipc"}));
}

// 4b. The infra container runs through the pod's runtime handler (here "runc": the oci plugin)
// with the pod's security context: its user and group, seccomp, no capabilities, no_new_privs.
TEST_F(CriE2eTest, InfraContainerFollowsRuntimeHandlerAndSecurityContext) {
  cri::PodSandboxConfig c = PodConfig("infra-sc");
  auto* sc = c.mutable_linux()->mutable_security_context();
  sc->mutable_namespace_options()->set_pid(cri::POD);
  sc->mutable_run_as_user()->set_value(4321);
  sc->mutable_run_as_group()->set_value(4322);
  sc->set_readonly_rootfs(true);
  sc->mutable_seccomp()->set_profile_type(cri::SecurityProfile::RuntimeDefault);
  std::string pod = RunPod(c, "runc");
  ASSERT_FALSE(pod.empty());
  int infra = InfraPid(pod);
  ASSERT_GT(infra, 1);
  std::string status = Slurp("/proc/" + std::to_string(infra) + "/status");
  EXPECT_NE(status.find("Uid:\t4321\t"), std::string::npos) << status;
  EXPECT_NE(status.find("Gid:\t4322\t"), std::string::npos) << status;
  EXPECT_NE(status.find("NoNewPrivs:\t1"), std::string::npos) << status;
  EXPECT_NE(status.find("Seccomp:\t2"), std::string::npos) << status;
  EXPECT_NE(status.find("CapEff:\t0000000000000000"), std::string::npos) << status;
  EXPECT_TRUE(Exists(oci_dir_ / ("tasks/" + pod))) << "not a task of the runc handler's plugin";
  EXPECT_FALSE(Exists(shim_dir_ / ("tasks/" + pod)));
  cri::ContainerConfig cc = Config("sees-pause", {"sleep", "1000"});
  cc.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(cri::POD);
  std::string ctr = RunIn(pod, cc);
  ASSERT_FALSE(ctr.empty());
  std::string ps = ExecOut(ctr, {"ps", "-o", "pid,args"});
  EXPECT_TRUE(std::regex_search(ps, std::regex(R"(^\s*1 /pause)", std::regex::multiline))) << ps;
  ASSERT_TRUE(RemoveContainer(ctr).ok());
  grpc::ClientContext ctx;
  Deadline(ctx);
  cri::RemovePodSandboxRequest req;
  req.set_pod_sandbox_id(pod);
  cri::RemovePodSandboxResponse resp;
  ASSERT_TRUE(rt_->RemovePodSandbox(&ctx, req, &resp).ok());
  EXPECT_FALSE(Exists(oci_dir_ / ("tasks/" + pod))) << "infra task left";
  EXPECT_FALSE(Exists(berthd_->state() + "/infra/" + pod)) << "infra bundle left";
  EXPECT_EQ(Out("grep -F " + oci_dir_.path() + " /proc/self/mountinfo"), "") << "mounts left";
}

// 5. A container over its memory limit is reported OOMKilled.
TEST_F(CriE2eTest, OomKilledIsReported) {
  std::string pod = RunPod(PodConfig("oom"));
  ASSERT_FALSE(pod.empty());
  cri::ContainerConfig c =
      Config("hog", {"sh", "-c", "x=$(head -c 64m /dev/zero | tr '\\0' a); echo survived"});
  c.mutable_linux()->mutable_resources()->set_memory_limit_in_bytes(8 << 20);
  c.mutable_linux()->mutable_resources()->set_memory_swap_limit_in_bytes(8 << 20);
  std::string id = RunIn(pod, c);
  ASSERT_FALSE(id.empty());
  cri::ContainerStatus st = WaitExited(id, 60);
  EXPECT_EQ(st.reason(), "OOMKilled") << "exit " << st.exit_code() << " " << st.message();
  EXPECT_NE(st.exit_code(), 0);
  EXPECT_EQ(Slurp(LogPath("oom", "hog")).find("survived"), std::string::npos);
}

// 6. ReopenContainerLog: after the kubelet renames the log, output continues in a new file at
// the original path and no line is lost.
TEST_F(CriE2eTest, ReopenContainerLogRotates) {
  std::string pod = RunPod(PodConfig("logs"));
  ASSERT_FALSE(pod.empty());
  std::string id = RunIn(
      pod, Config("counter",
                  {"sh", "-c", "i=0; while true; do echo line$i; i=$((i+1)); sleep 0.02; done"}));
  ASSERT_FALSE(id.empty());
  std::string path = LogPath("logs", "counter");
  for (int i = 0; i < 100 && Slurp(path).find("line10\n") == std::string::npos; ++i)
    std::this_thread::sleep_for(50ms);
  ASSERT_NE(Slurp(path).find("line10\n"), std::string::npos);
  ASSERT_EQ(::rename(path.c_str(), (path + ".1").c_str()), 0);
  {
    grpc::ClientContext ctx;
    Deadline(ctx);
    cri::ReopenContainerLogRequest req;
    cri::ReopenContainerLogResponse resp;
    req.set_container_id(id);
    grpc::Status s = rt_->ReopenContainerLog(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  ASSERT_TRUE(Exists(path)) << "no new log file after ReopenContainerLog";
  for (int i = 0; i < 100 && Slurp(path).find("stdout F line") == std::string::npos; ++i)
    std::this_thread::sleep_for(50ms);
  std::this_thread::sleep_for(300ms);
  ASSERT_TRUE(StopContainer(id, 0).ok());
  std::string old_log = Slurp(path + ".1"), new_log = Slurp(path);
  EXPECT_NE(new_log.find("stdout F line"), std::string::npos) << new_log;
  // Every line number from 0 to the last one appears exactly once across both files.
  std::regex line(R"(^\S+Z stdout F line(\d+)$)");
  std::vector<int> seen;
  for (const std::string* text : {&old_log, &new_log}) {
    std::istringstream in(*text);
    std::string l;
    while (std::getline(in, l)) {
      std::smatch m;
      ASSERT_TRUE(std::regex_match(l, m, line)) << "bad log line: " << l;
      seen.push_back(std::stoi(m[1]));
    }
  }
  ASSERT_FALSE(seen.empty());
  for (size_t i = 0; i < seen.size(); ++i) ASSERT_EQ(seen[i], static_cast<int>(i)) << "lost/dup";
  // Reopen of a stopped container: FAILED_PRECONDITION, like containerd.
  grpc::ClientContext ctx;
  Deadline(ctx);
  cri::ReopenContainerLogRequest req;
  cri::ReopenContainerLogResponse resp;
  req.set_container_id(id);
  EXPECT_EQ(rt_->ReopenContainerLog(&ctx, req, &resp).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

// `seq from` as busybox prints it ("from\nfrom+1\n..."), cut to `bytes`.
std::string SeqBytes(long from, size_t bytes) {
  std::string out;
  out.reserve(bytes + 16);
  for (long i = from; out.size() < bytes; ++i) out += std::to_string(i) + "\n";
  out.resize(bytes);
  return out;
}

// Where `got` first differs from `want` (without printing megabytes), or "" when equal.
std::string FirstDifference(const std::string& got, const std::string& want) {
  if (got == want) return "";
  size_t i = 0;
  while (i < got.size() && i < want.size() && got[i] == want[i]) ++i;
  return "sizes " + std::to_string(got.size()) + " vs " + std::to_string(want.size()) +
         ", first difference at byte " + std::to_string(i) + ": got \"" + got.substr(i, 20) +
         "\", want \"" + want.substr(i, 20) + "\"";
}

// 7a. ExecSync: a timeout is DEADLINE_EXCEEDED and promptly; output up to the cap is delivered
// whole; over it (CRI: 16 MiB per stream) exactly the first 16 MiB of each stream come back
// with the exit code and OK, while the command ran on to its end (CVE-2022-1708).
TEST_F(CriE2eTest, ExecSyncTimeoutAndOutputCap) {
  std::string pod = RunPod(PodConfig("exec"));
  ASSERT_FALSE(pod.empty());
  std::string id = RunIn(pod, Config("sleeper", {"sleep", "1000"}));
  ASSERT_FALSE(id.empty());
  cri::ExecSyncResponse r;
  auto t0 = std::chrono::steady_clock::now();
  grpc::Status s = Exec(id, {"sleep", "30"}, &r, 1);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << s.error_message();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
  EXPECT_EQ(ExecOut(id, {"echo", "alive"}), "alive\n");
  // 1.5 MB on each stream: delivered whole.
  r.Clear();
  s = Exec(id,
           {"sh", "-c",
            "head -c 1500000 /dev/zero | tr '\\0' x; head -c 1500000 /dev/zero | tr '\\0' y >&2"},
           &r, 60);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(r.exit_code(), 0);
  EXPECT_EQ(r.stdout(), std::string(1500000, 'x'));
  EXPECT_EQ(r.stderr(), std::string(1500000, 'y'));
  // 20 MiB on stdout, then 17 MiB on stderr, then exit 7: the first 16 MiB of each, byte for
  // byte, the exit code, OK. The stderr part runs only after stdout's 20 MiB were all read, so
  // its arrival proves that the command ran on past the cap.
  constexpr size_t kCap = 16u << 20;
  r.Clear();
  s = Exec(id,
           {"sh", "-c",
            "seq 1 3000000 | head -c 20971520; seq 5000000 8000000 | head -c 17825792 >&2; "
            "exit 7"},
           &r, 120);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(r.exit_code(), 7);
  EXPECT_EQ(r.stdout().size(), kCap);
  EXPECT_EQ(r.stderr().size(), kCap);
  EXPECT_EQ(FirstDifference(r.stdout(), SeqBytes(1, kCap)), "");
  EXPECT_EQ(FirstDifference(r.stderr(), SeqBytes(5000000, kCap)), "");
  // 64 MiB then `exit 3`: the 48 MiB over the cap are drained and dropped, promptly.
  r.Clear();
  t0 = std::chrono::steady_clock::now();
  s = Exec(id, {"sh", "-c", "head -c 67108864 /dev/zero | tr '\\0' z; exit 3"}, &r, 120);
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(r.exit_code(), 3);
  EXPECT_EQ(r.stdout().size(), kCap);
  EXPECT_EQ(r.stdout().find_first_not_of('z'), std::string::npos);
  EXPECT_TRUE(r.stderr().empty());
  EXPECT_LT(took, 20s);
  printf("ExecSync of 64 MiB: %.2f s\n", std::chrono::duration<double>(took).count());
  // A timeout while over the cap is still DEADLINE_EXCEEDED, and the container is unharmed.
  r.Clear();
  t0 = std::chrono::steady_clock::now();
  s = Exec(id, {"sh", "-c", "yes"}, &r, 2);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << s.error_message();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 15s);
  EXPECT_EQ(ExecOut(id, {"echo", "still alive"}), "still alive\n");
}

// 7b. ContainerStats / ListContainerStats report CPU and memory of a running container.
TEST_F(CriE2eTest, ContainerStatsAreNonZero) {
  std::string pod = RunPod(PodConfig("stats"));
  ASSERT_FALSE(pod.empty());
  std::string id =
      RunIn(pod, Config("busy", {"sh", "-c",
                                 "x=$(head -c 4m /dev/zero | tr '\\0' a); while true; do "
                                 ": $((i=i+1)); done"}));
  ASSERT_FALSE(id.empty());
  std::this_thread::sleep_for(1s);
  cri::ContainerStats st;
  {
    grpc::ClientContext ctx;
    Deadline(ctx);
    cri::ContainerStatsRequest req;
    cri::ContainerStatsResponse resp;
    req.set_container_id(id);
    grpc::Status s = rt_->ContainerStats(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    st = resp.stats();
  }
  EXPECT_EQ(st.attributes().id(), id);
  EXPECT_EQ(st.attributes().metadata().name(), "busy");
  EXPECT_GT(st.cpu().timestamp(), 0);
  EXPECT_GT(st.cpu().usage_core_nano_seconds().value(), 100'000'000u);
  EXPECT_GT(st.memory().working_set_bytes().value(), 0u);
  EXPECT_GT(st.memory().usage_bytes().value(), 0u);
  {
    grpc::ClientContext ctx;
    Deadline(ctx);
    cri::ListContainerStatsRequest req;
    cri::ListContainerStatsResponse resp;
    req.mutable_filter()->set_pod_sandbox_id(pod);
    grpc::Status s = rt_->ListContainerStats(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_EQ(resp.stats_size(), 1);
    EXPECT_EQ(resp.stats(0).attributes().id(), id);
    EXPECT_GT(resp.stats(0).cpu().usage_core_nano_seconds().value(), 0u);
    EXPECT_GT(resp.stats(0).memory().working_set_bytes().value(), 0u);
  }
  // The same figures as CRI metrics: descriptors, then per-pod and per-container values whose
  // labels follow the descriptors' label keys.
  {
    grpc::ClientContext ctx;
    Deadline(ctx);
    cri::ListMetricDescriptorsResponse resp;
    ASSERT_TRUE(rt_->ListMetricDescriptors(&ctx, {}, &resp).ok());
    std::vector<std::string> names;
    for (const auto& d : resp.descriptors()) names.push_back(d.name());
    EXPECT_THAT(names, ::testing::Contains("container_cpu_usage_nanoseconds_total"));
    EXPECT_THAT(names, ::testing::Contains("container_memory_working_set_bytes"));
  }
  {
    grpc::ClientContext ctx;
    Deadline(ctx);
    cri::ListPodSandboxMetricsResponse resp;
    ASSERT_TRUE(rt_->ListPodSandboxMetrics(&ctx, {}, &resp).ok());
    const cri::PodSandboxMetrics* pm = nullptr;
    for (const auto& p : resp.pod_metrics()) {
      if (p.pod_sandbox_id() == pod) pm = &p;
    }
    ASSERT_NE(pm, nullptr);
    ASSERT_EQ(pm->container_metrics_size(), 1);
    EXPECT_EQ(pm->container_metrics(0).container_id(), id);
    bool cpu = false, pod_cpu = false;
    for (const auto& m : pm->container_metrics(0).metrics()) {
      if (m.name() != "container_cpu_usage_nanoseconds_total") continue;
      cpu = m.value().value() > 100'000'000u && m.metric_type() == cri::COUNTER &&
            m.label_values_size() == 3 && m.label_values(0) == "busy";
    }
    for (const auto& m : pm->metrics()) {
      if (m.name() == "container_cpu_usage_nanoseconds_total") pod_cpu = m.value().value() > 0;
    }
    EXPECT_TRUE(cpu);
    EXPECT_TRUE(pod_cpu);
  }
  EXPECT_TRUE(StopContainer(id, 0).ok());
}

// 7c. GetContainerEvents delivers CREATED, STARTED, STOPPED, DELETED with the pod's status.
TEST_F(CriE2eTest, ContainerEventsStream) {
  std::string pod = RunPod(PodConfig("events"));
  ASSERT_FALSE(pod.empty());
  grpc::ClientContext ctx;
  Deadline(ctx, 120);
  cri::GetEventsRequest req;
  auto reader = rt_->GetContainerEvents(&ctx, req);
  std::mutex mu;
  std::vector<cri::ContainerEventResponse> events;
  std::thread t([&] {
    cri::ContainerEventResponse ev;
    while (reader->Read(&ev)) {
      std::lock_guard lock(mu);
      events.push_back(ev);
    }
  });
  // The server subscribes as soon as the call arrives; nothing tells the client when, so give
  // it a moment before the first event.
  std::this_thread::sleep_for(500ms);
  std::string id = RunIn(pod, Config("short", {"sh", "-c", "sleep 0.5"}));
  ASSERT_FALSE(id.empty());
  WaitExited(id);
  ASSERT_TRUE(RemoveContainer(id).ok());
  std::vector<cri::ContainerEventType> types;
  for (int i = 0; i < 100; ++i) {
    {
      std::lock_guard lock(mu);
      types.clear();
      for (const auto& e : events)
        if (e.container_id() == id) types.push_back(e.container_event_type());
      if (types.size() >= 4) break;
    }
    std::this_thread::sleep_for(50ms);
  }
  ctx.TryCancel();
  t.join();
  std::vector<cri::ContainerEventType> want = {
      cri::CONTAINER_CREATED_EVENT, cri::CONTAINER_STARTED_EVENT, cri::CONTAINER_STOPPED_EVENT,
      cri::CONTAINER_DELETED_EVENT};
  EXPECT_EQ(types, want);
  std::lock_guard lock(mu);
  for (const auto& e : events) {
    if (e.container_id() != id) continue;
    EXPECT_EQ(e.pod_sandbox_status().id(), pod);
    EXPECT_EQ(e.pod_sandbox_status().metadata().name(), "events");
    EXPECT_GT(e.created_at(), 0);
  }
}

// 7d. SIGTERM of berthd with an events stream open: the shutdown ends the stream at once
// (UNAVAILABLE) instead of gRPC cancelling it after its 5 s grace period, and berthd exits
// promptly once its clients hang up.
TEST_F(CriE2eTest, ShutdownWithOpenEventStreamIsPrompt) {
  // The stream gets its own channel, dropped as soon as the stream ends; the fixture's idle
  // channel is dropped before the signal (an idle client connection holds gRPC's shutdown by
  // itself, see the report of this suite).
  auto ch = grpc::CreateChannel(berthd_->endpoint(), grpc::InsecureChannelCredentials());
  auto stub = cri::RuntimeService::NewStub(ch);
  auto ctx = std::make_unique<grpc::ClientContext>();
  Deadline(*ctx, 120);
  cri::GetEventsRequest req;
  auto reader = stub->GetContainerEvents(ctx.get(), req);
  std::atomic<bool> ended{false};
  grpc::Status finished;
  std::chrono::steady_clock::time_point ended_at;
  std::thread t([&] {
    cri::ContainerEventResponse ev;
    while (reader->Read(&ev)) {
    }
    finished = reader->Finish();
    ended_at = std::chrono::steady_clock::now();
    reader.reset();
    ctx.reset();
    stub.reset();
    ch.reset();
    ended = true;
  });
  std::this_thread::sleep_for(500ms);
  ASSERT_FALSE(ended.load());
  rt_.reset();
  images_.reset();
  auto t0 = std::chrono::steady_clock::now();
  int status = berthd_->Stop(SIGTERM);
  auto took = std::chrono::steady_clock::now() - t0;
  t.join();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_EQ(finished.error_code(), grpc::StatusCode::UNAVAILABLE) << finished.error_message();
  EXPECT_NE(finished.error_message().find("shutting down"), std::string::npos)
      << finished.error_message();
  EXPECT_LT(ended_at - t0, 1500ms) << "the events stream outlived the shutdown";
  EXPECT_LT(took, 3s) << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                      << " ms\n"
                      << berthd_->Stderr();
  // Start it again so TearDown's checks run against a live daemon.
  ASSERT_TRUE(berthd_->Start(20000)) << berthd_->Stderr();
  Connect();
}

}  // namespace
}  // namespace berth::testing
