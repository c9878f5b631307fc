// Pod sandboxes end to end (root): a real berthd with the real `cni` network plugin and Debian's
// CNI plugins (bridge + host-local + portmap; loopback is set up by the cni plugin itself), over
// the CRI gRPC API. Everything is test-unique: bridge "bpod<n>", subnet 10.198.<n>.0/24,
// host-local dataDir, conf dir, berthd root/state. ip_forward is saved and restored, and a
// FORWARD DROP rule keeps anything from the test bridge from being forwarded off it.
// Pods share a PID namespace unless a test says otherwise (the CRI default), so most of them run
// an infra container: the native runtime and the overlay snapshotter are loaded, and the pause
// test image is imported as berthd's sandbox image.

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
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

namespace rv1 = ::runtime::v1;

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

bool Exists(const std::string& p) { return std::filesystem::exists(p); }

std::string Slurp(const std::string& p) {
  auto r = ReadFile(p);
  return r.ok() ? *r : "";
}

// The process is gone or a zombie (init may reap an orphan on its own time).
bool Dead(int pid) {
  std::string stat = Slurp("/proc/" + std::to_string(pid) + "/stat");
  size_t p = stat.rfind(')');
  return p == std::string::npos || stat.substr(p + 2, 1) == "Z";
}

bool Mounted(const std::string& path) {
  return Slurp("/proc/self/mountinfo").find(" " + path + " ") != std::string::npos;
}

class PodSandboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    BERTH_REQUIRE_ROOT();
    tmp_ = std::make_unique<TempDir>();
    pid_ = std::to_string(getpid());
    net_ = std::make_unique<TestPodNetwork>(tmp_->path(), "berth-pod-test", "bpod", 198,
                                            /*clean_hostport=*/true);
    prefix_ = net_->prefix();
    bridge_ = net_->bridge();
    conf_dir_ = net_->conf_dir();
    bin_dir_ = *tmp_ / "bin";
    data_dir_ = net_->data_dir();
    plugins_dir_ = *tmp_ / "plugins";
    for (const auto& d : {bin_dir_, plugins_dir_}) ASSERT_TRUE(MakeDirs(d, 0755).ok());
    for (const char* so : {"cni.so", "native.so", "snapshotter-overlay.so"}) {
      std::filesystem::create_symlink(std::string(BERTH_PLUGIN_BUILD_DIR) + "/" + so,
                                      plugins_dir_ + "/" + so);
    }
    ASSERT_TRUE(TestImages::Get().ok()) << TestImages::Get().error();
    ASSERT_TRUE(net_->Setup());
    WriteConf({BridgePlugin(), TestPodNetwork::PortmapPlugin()});
    // Shim sockets live in the runtime's state dir: a short path for the sun_path limit.
    nlohmann::json cfg = {
        {"snapshotter", "overlay"},
        {"sandbox_image", kTestPauseImage},
        {"plugins",
         {{"io.berth.runtime.v1/native",
           {{"state_dir", shim_dir_.path()}, {"shim_path", BERTH_SHIM_PATH}}},
          {"cni", {{"conf_dir", conf_dir_}, {"bin_dirs", {bin_dir_, "/usr/lib/cni"}}}}}}};
    ASSERT_TRUE(AtomicWriteFile(*tmp_ / "berthd.json", cfg.dump(2)).ok());
  }

  void TearDown() override {
    if (!tmp_) return;
    if (d_) {
      if (!d_->socket().empty() && Exists(d_->socket())) RemoveAllPods();
      d_->Stop(SIGTERM);
      d_.reset();
    }
    net_.reset();  // the bridge, FORWARD rule, ip_forward and portmap chains
  }

  nlohmann::json BridgePlugin() const { return net_->BridgePlugin(); }
  void WriteConf(const std::vector<nlohmann::json>& plugins) {
    ASSERT_TRUE(net_->WriteConflist(plugins, "10-test.conflist"));
  }

  void StartBerthd() {
    d_ = std::make_unique<BerthdProcess>(
        std::vector<std::string>{"--config", *tmp_ / "berthd.json"}, plugins_dir_);
    ASSERT_TRUE(d_->Start()) << d_->Stderr();
    Connect();
    ImportPause();
  }
  void Connect() {
    auto ch = grpc::CreateChannel(d_->endpoint(), grpc::InsecureChannelCredentials());
    stub_ = rv1::RuntimeService::NewStub(ch);
    images_ = berth::v1::Images::NewStub(ch);
  }
  void ImportPause() {
    grpc::ClientContext ctx;
    Deadline(ctx);
    berth::v1::ImportImageRequest req;
    berth::v1::ImportImageResponse resp;
    req.set_path(TestImages::Get().path("pause"));
    req.set_name(kTestPauseImage);
    grpc::Status s = images_->Import(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  static void Deadline(grpc::ClientContext& ctx, int s = 60) {
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(s));
  }

  rv1::PodSandboxConfig Config(const std::string& name, uint32_t attempt = 0) const {
    rv1::PodSandboxConfig c;
    c.mutable_metadata()->set_name(name);
    c.mutable_metadata()->set_namespace_("default");
    c.mutable_metadata()->set_uid("uid-" + name + "-" + pid_);
    c.mutable_metadata()->set_attempt(attempt);
    (*c.mutable_labels())["app"] = name;
    (*c.mutable_labels())["test"] = "pods";
    (*c.mutable_annotations())["note"] = "kept as is";
    c.set_log_directory(*tmp_ / ("logs/" + name));
    return c;
  }

  grpc::Status Run(const rv1::PodSandboxConfig& c, std::string* id,
                   const std::string& handler = "") {
    grpc::ClientContext ctx;
    Deadline(ctx);
    rv1::RunPodSandboxRequest req;
    *req.mutable_config() = c;
    req.set_runtime_handler(handler);
    rv1::RunPodSandboxResponse resp;
    grpc::Status s = stub_->RunPodSandbox(&ctx, req, &resp);
    if (id != nullptr) *id = resp.pod_sandbox_id();
    return s;
  }
  std::string MustRun(const rv1::PodSandboxConfig& c) {
    std::string id;
    grpc::Status s = Run(c, &id);
    EXPECT_TRUE(s.ok()) << s.error_message() << "\n" << d_->Stderr();
    return id;
  }
  grpc::Status Stop(const std::string& id) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    rv1::StopPodSandboxRequest req;
    req.set_pod_sandbox_id(id);
    rv1::StopPodSandboxResponse resp;
    return stub_->StopPodSandbox(&ctx, req, &resp);
  }
  grpc::Status Remove(const std::string& id) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    rv1::RemovePodSandboxRequest req;
    req.set_pod_sandbox_id(id);
    rv1::RemovePodSandboxResponse resp;
    return stub_->RemovePodSandbox(&ctx, req, &resp);
  }
  grpc::Status Status(const std::string& id, rv1::PodSandboxStatusResponse* resp,
                      bool verbose = false) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    rv1::PodSandboxStatusRequest req;
    req.set_pod_sandbox_id(id);
    req.set_verbose(verbose);
    return stub_->PodSandboxStatus(&ctx, req, resp);
  }
  nlohmann::json Info(const std::string& id) {
    rv1::PodSandboxStatusResponse resp;
    grpc::Status s = Status(id, &resp, true);
    EXPECT_TRUE(s.ok()) << s.error_message();
    if (!resp.info().contains("info")) return nlohmann::json::object();
    return nlohmann::json::parse(resp.info().at("info"));
  }
  std::vector<rv1::PodSandbox> List(const rv1::PodSandboxFilter& f = {}) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    rv1::ListPodSandboxRequest req;
    *req.mutable_filter() = f;
    rv1::ListPodSandboxResponse resp;
    grpc::Status s = stub_->ListPodSandbox(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return {resp.items().begin(), resp.items().end()};
  }
  void RemoveAllPods() {
    for (const auto& p : List()) (void)Remove(p.id());
  }

  std::string StateDir(const std::string& id) const { return d_->state() + "/pods/" + id; }
  std::string RecordDir(const std::string& id) const { return d_->root() + "/pods/" + id; }

  // Everything a pod may leave on the host, absent.
  void ExpectNothingLeft(const std::string& id) {
    EXPECT_FALSE(Exists(StateDir(id))) << "state dir of " << id;
    EXPECT_FALSE(Exists(RecordDir(id))) << "record of " << id;
    EXPECT_FALSE(Mounted(StateDir(id) + "/ns/net")) << "netns mount of " << id;
    EXPECT_FALSE(Mounted(StateDir(id) + "/shm")) << "shm mount of " << id;
    EXPECT_FALSE(Exists(d_->state() + "/infra/" + id)) << "infra bundle of " << id;
    EXPECT_EQ(Out("grep -F " + id + " /proc/self/mountinfo"), "") << "mounts of " << id;
    EXPECT_EQ(Out("ls -A " + shim_dir_.path() + "/tasks 2>/dev/null | grep -F " + id), "")
        << "runtime task of " << id;
    for (const char* c : {"cpu", "cpuacct", "memory", "pids"}) {
      EXPECT_FALSE(Exists(std::string("/sys/fs/cgroup/") + c + "/berth/" + id)) << c;
    }
  }
  void ExpectNoPodsOnDisk() {
    EXPECT_EQ(Out("ls -A " + d_->state() + "/pods"), "");
    EXPECT_EQ(Out("ls -A " + d_->root() + "/pods"), "");
    EXPECT_EQ(Out("ip -o link show master " + bridge_), "") << "veths left on the bridge";
    EXPECT_EQ(Out("ls " + data_dir_ + "/berth-pod-test-" + pid_ + " | grep -c '^10\\.'"), "0\n")
        << "IP allocations left";
  }

  std::unique_ptr<TempDir> tmp_;
  std::unique_ptr<TestPodNetwork> net_;
  std::string pid_, prefix_, bridge_, conf_dir_, bin_dir_, data_dir_, plugins_dir_;
  std::unique_ptr<BerthdProcess> d_;
  std::unique_ptr<rv1::RuntimeService::Stub> stub_;
  std::unique_ptr<berth::v1::Images::Stub> images_;
  TempDir shim_dir_;
};

TEST_F(PodSandboxTest, RunStatusListStopRemove) {
  StartBerthd();
  rv1::PodSandboxConfig c = Config("web");
  c.set_hostname("web-host");
  c.mutable_dns_config()->add_servers("10.0.0.53");
  c.mutable_dns_config()->add_searches("svc.cluster.local");
  c.mutable_dns_config()->add_options("ndots:5");
  auto* pm = c.add_port_mappings();
  pm->set_container_port(80);
  pm->set_host_port(0);
  std::string id = MustRun(c);
  ASSERT_EQ(id.size(), 64u);

  rv1::PodSandboxStatusResponse st;
  ASSERT_TRUE(Status(id, &st).ok());
  EXPECT_EQ(st.status().id(), id);
  EXPECT_EQ(st.status().state(), rv1::SANDBOX_READY);
  EXPECT_EQ(st.status().metadata().name(), "web");
  EXPECT_GT(st.status().created_at(), 0);
  EXPECT_EQ(st.status().labels().at("app"), "web");
  EXPECT_EQ(st.status().annotations().at("note"), "kept as is");
  EXPECT_EQ(st.status().linux().namespaces().options().network(), rv1::NamespaceMode::POD);
  std::string ip = st.status().network().ip();
  ASSERT_EQ(ip.rfind(prefix_, 0), 0u) << ip;

  nlohmann::json info = Info(id);
  std::string netns = info["netNamespacePath"];
  EXPECT_EQ(netns, StateDir(id) + "/ns/net");
  EXPECT_FALSE(info["netNamespaceClosed"].get<bool>());
  EXPECT_EQ(info["config"]["metadata"]["name"], "web");
  // The netns holds eth0 with the pod's IP, and lo is up.
  std::string addrs = Out("nsenter --net=" + netns + " ip -o -4 addr show");
  EXPECT_NE(addrs.find("eth0"), std::string::npos) << addrs;
  EXPECT_NE(addrs.find(ip + "/24"), std::string::npos) << addrs;
  EXPECT_NE(addrs.find("127.0.0.1"), std::string::npos) << addrs;
  // UTS namespace with the hostname; IPC namespace differs from the host's.
  EXPECT_EQ(Out("nsenter --uts=" + StateDir(id) + "/ns/uts hostname"), "web-host\n");
  EXPECT_NE(Out("readlink /proc/self/ns/ipc"),
            Out("nsenter --ipc=" + StateDir(id) + "/ns/ipc readlink /proc/self/ns/ipc"));
  // Files.
  EXPECT_EQ(Slurp(info["hostnamePath"]), "web-host\n");
  EXPECT_EQ(Slurp(info["resolvConfPath"]),
            "search svc.cluster.local\nnameserver 10.0.0.53\noptions ndots:5\n");
  EXPECT_NE(Slurp(info["hostsPath"]).find(ip + "\tweb-host"), std::string::npos);
  EXPECT_TRUE(Mounted(info["shmPath"].get<std::string>()));
  EXPECT_NE(Out("findmnt -no OPTIONS " + info["shmPath"].get<std::string>()).find("size=65536k"),
            std::string::npos);
  EXPECT_EQ(info["cgroupParent"], "/berth/" + id);
  EXPECT_TRUE(Exists("/sys/fs/cgroup/memory/berth/" + id));
  EXPECT_TRUE(Exists("/sys/fs/cgroup/cpu/berth/" + id));

  // List with filters.
  std::string other = MustRun(Config("other"));
  EXPECT_EQ(List().size(), 2u);
  rv1::PodSandboxFilter f;
  f.set_id(id.substr(0, 12));
  ASSERT_EQ(List(f).size(), 1u);
  EXPECT_EQ(List(f)[0].id(), id);
  f.Clear();
  (*f.mutable_label_selector())["app"] = "other";
  ASSERT_EQ(List(f).size(), 1u);
  EXPECT_EQ(List(f)[0].id(), other);
  (*f.mutable_label_selector())["test"] = "nope";
  EXPECT_EQ(List(f).size(), 0u);

  // Status by unique prefix.
  ASSERT_TRUE(Status(id.substr(0, 10), &st).ok());
  EXPECT_EQ(st.status().id(), id);

  // Stop: NOTREADY, netns gone, network torn down; idempotent.
  ASSERT_TRUE(Stop(id).ok());
  ASSERT_TRUE(Stop(id).ok());
  ASSERT_TRUE(Status(id, &st).ok());
  EXPECT_EQ(st.status().state(), rv1::SANDBOX_NOTREADY);
  EXPECT_FALSE(Exists(netns));
  EXPECT_TRUE(Info(id)["netNamespaceClosed"].get<bool>());
  EXPECT_FALSE(Exists(data_dir_ + "/berth-pod-test-" + pid_ + "/" + ip)) << "IP still allocated";
  f.Clear();
  f.mutable_state()->set_state(rv1::SANDBOX_NOTREADY);
  ASSERT_EQ(List(f).size(), 1u);
  EXPECT_EQ(List(f)[0].id(), id);
  f.mutable_state()->set_state(rv1::SANDBOX_READY);
  ASSERT_EQ(List(f).size(), 1u);
  EXPECT_EQ(List(f)[0].id(), other);

  // Remove (the ready one is stopped first); idempotent; then NOT_FOUND.
  grpc::Status rs = Remove(id);
  ASSERT_TRUE(rs.ok()) << rs.error_message();
  ASSERT_TRUE(Remove(id).ok());
  ASSERT_TRUE(Remove(other).ok());
  EXPECT_EQ(Status(id, &st).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Stop(id).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(List().empty());
  ExpectNothingLeft(id);
  ExpectNothingLeft(other);
  ExpectNoPodsOnDisk();
}

TEST_F(PodSandboxTest, PodsReachEachOtherOverTheBridge) {
  StartBerthd();
  std::string a = MustRun(Config("ping-a"));
  std::string b = MustRun(Config("ping-b"));
  rv1::PodSandboxStatusResponse sa, sb;
  ASSERT_TRUE(Status(a, &sa).ok());
  ASSERT_TRUE(Status(b, &sb).ok());
  std::string ipa = sa.status().network().ip(), ipb = sb.status().network().ip();
  ASSERT_NE(ipa, ipb);
  std::string nsa = Info(a)["netNamespacePath"];
  std::string nsb = Info(b)["netNamespacePath"];
  EXPECT_EQ(Sh("nsenter --net=" + nsa + " busybox ping -c 1 -W 3 " + ipb + " >/dev/null"), 0);
  EXPECT_EQ(Sh("nsenter --net=" + nsb + " busybox ping -c 1 -W 3 " + ipa + " >/dev/null"), 0);
  // The host reaches the pod through the bridge's gateway address (isGateway).
  EXPECT_EQ(Sh("busybox ping -c 1 -W 3 " + ipa + " >/dev/null"), 0);
  // A TCP server in pod b answers pod a.
  std::string serve = "nsenter --net=" + nsb + " busybox nc -l -p 8080 -e echo hello-from-b";
  std::thread server([&] { Sh("timeout 10 " + serve + " >/dev/null 2>&1"); });
  std::string got;
  for (int i = 0; i < 50 && got.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    got = Out("nsenter --net=" + nsa + " busybox nc -w 2 " + ipb + " 8080 </dev/null");
  }
  server.join();
  EXPECT_EQ(got, "hello-from-b\n");
}

TEST_F(PodSandboxTest, HostNetworkPodHasNoNetns) {
  StartBerthd();
  rv1::PodSandboxConfig c = Config("hostnet");
  auto* ns = c.mutable_linux()->mutable_security_context()->mutable_namespace_options();
  ns->set_network(rv1::NamespaceMode::NODE);
  ns->set_ipc(rv1::NamespaceMode::NODE);
  std::string id = MustRun(c);
  rv1::PodSandboxStatusResponse st;
  ASSERT_TRUE(Status(id, &st).ok());
  EXPECT_EQ(st.status().state(), rv1::SANDBOX_READY);
  EXPECT_EQ(st.status().network().ip(), "");
  EXPECT_EQ(st.status().linux().namespaces().options().network(), rv1::NamespaceMode::NODE);
  EXPECT_EQ(st.status().linux().namespaces().options().ipc(), rv1::NamespaceMode::NODE);
  nlohmann::json info = Info(id);
  EXPECT_EQ(info["netNamespacePath"], "");
  EXPECT_EQ(info["shmPath"], "");
  EXPECT_FALSE(Exists(StateDir(id) + "/ns/net"));
  EXPECT_FALSE(Exists(StateDir(id) + "/ns/ipc"));
  EXPECT_EQ(info["hostname"].get<std::string>() + "\n", Out("hostname"));
  // No DNS config: a copy of the host's resolv.conf.
  EXPECT_EQ(Slurp(info["resolvConfPath"]), Slurp("/etc/resolv.conf"));
  EXPECT_EQ(Out("ip -o link show master " + bridge_), "");
  ASSERT_TRUE(Stop(id).ok());
  ASSERT_TRUE(Remove(id).ok());
  ExpectNothingLeft(id);
}

TEST_F(PodSandboxTest, DuplicateNameIsAlreadyExists) {
  StartBerthd();
  std::string id = MustRun(Config("dup"));
  std::string id2;
  grpc::Status s = Run(Config("dup"), &id2);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS) << s.error_message();
  EXPECT_NE(s.error_message().find(id), std::string::npos) << s.error_message();
  // Another attempt is another name; after removal the name is free again.
  std::string id3 = MustRun(Config("dup", 1));
  ASSERT_TRUE(Remove(id).ok());
  std::string id4 = MustRun(Config("dup"));
  EXPECT_NE(id4, id);
  EXPECT_EQ(List().size(), 2u);
}

TEST_F(PodSandboxTest, BadInputGetsClearCodesAndLeavesNothing) {
  StartBerthd();
  struct Case {
    const char* what;
    std::function<void(rv1::PodSandboxConfig&)> mutate;
    grpc::StatusCode code;
    std::string handler = "";
  };
  std::vector<Case> cases = {
      {"no metadata", [](auto& c) { c.clear_metadata(); }, grpc::StatusCode::INVALID_ARGUMENT},
      {"no name", [](auto& c) { c.mutable_metadata()->set_name(""); },
       grpc::StatusCode::INVALID_ARGUMENT},
      {"no namespace", [](auto& c) { c.mutable_metadata()->set_namespace_(""); },
       grpc::StatusCode::INVALID_ARGUMENT},
      {"no uid", [](auto& c) { c.mutable_metadata()->set_uid(""); },
       grpc::StatusCode::INVALID_ARGUMENT},
      {"bad dns server", [](auto& c) { c.mutable_dns_config()->add_servers("not-an-ip"); },
       grpc::StatusCode::INVALID_ARGUMENT},
      {"bad dns option", [](auto& c) { c.mutable_dns_config()->add_options("a b"); },
       grpc::StatusCode::INVALID_ARGUMENT},
      {"bad hostname", [](auto& c) { c.set_hostname("Bad_Host!"); },
       grpc::StatusCode::INVALID_ARGUMENT},
      {"non-namespaced sysctl",
       [](auto& c) { (*c.mutable_linux()->mutable_sysctls())["kernel.panic"] = "1"; },
       grpc::StatusCode::INVALID_ARGUMENT},
      {"net sysctl with host network",
       [](auto& c) {
         (*c.mutable_linux()->mutable_sysctls())["net.ipv4.ip_forward"] = "1";
         c.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_network(
             rv1::NamespaceMode::NODE);
       },
       grpc::StatusCode::INVALID_ARGUMENT},
      {"sysctl value with newline",
       [](auto& c) { (*c.mutable_linux()->mutable_sysctls())["net.core.somaxconn"] = "1\n2"; },
       grpc::StatusCode::INVALID_ARGUMENT},
      {"systemd cgroup parent",
       [](auto& c) { c.mutable_linux()->set_cgroup_parent("kubepods.slice"); },
       grpc::StatusCode::INVALID_ARGUMENT},
      {"cgroup parent with ..", [](auto& c) { c.mutable_linux()->set_cgroup_parent("/a/../../b"); },
       grpc::StatusCode::INVALID_ARGUMENT},
      {"bad port", [](auto& c) { c.add_port_mappings()->set_container_port(70000); },
       grpc::StatusCode::INVALID_ARGUMENT},
      {"pid TARGET",
       [](auto& c) {
         c.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(
             rv1::NamespaceMode::TARGET);
       },
       grpc::StatusCode::INVALID_ARGUMENT},
      {"user namespace",
       [](auto& c) {
         c.mutable_linux()
             ->mutable_security_context()
             ->mutable_namespace_options()
             ->mutable_userns_options()
             ->set_mode(rv1::NamespaceMode::POD);
       },
       grpc::StatusCode::UNIMPLEMENTED},
      {"unknown runtime handler", [](auto&) {}, grpc::StatusCode::NOT_FOUND, "no-such-handler"},
  };
  for (const Case& k : cases) {
    rv1::PodSandboxConfig c = Config("bad");
    k.mutate(c);
    grpc::Status s = Run(c, nullptr, k.handler);
    EXPECT_EQ(s.error_code(), k.code) << k.what << ": " << s.error_message();
    EXPECT_FALSE(s.error_message().empty()) << k.what;
  }
  rv1::PodSandboxStatusResponse st;
  EXPECT_EQ(Status("", &st).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Status(std::string(64, 'a'), &st).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Stop(std::string(64, 'a')).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(Remove(std::string(64, 'a')).ok());  // idempotent
  EXPECT_TRUE(List().empty());
  ExpectNoPodsOnDisk();
}

TEST_F(PodSandboxTest, FailedNetworkSetupLeavesNothing) {
  // bridge succeeds (veth, IP allocation), then a plugin that fails ADD: the whole pod must go.
  ASSERT_TRUE(
      AtomicWriteFile(bin_dir_ + "/berth-fail",
                      "#!/bin/sh\ncat >/dev/null\n"
                      "if [ \"$CNI_COMMAND\" = ADD ]; then\n"
                      "  echo '{\"cniVersion\":\"1.0.0\",\"code\":100,\"msg\":\"refused "
                      "by test\"}'\n  exit 1\nfi\n"
                      "if [ \"$CNI_COMMAND\" = VERSION ]; then\n"
                      "  echo '{\"cniVersion\":\"1.0.0\",\"supportedVersions\":[\"1.0.0\"]}'\n"
                      "fi\nexit 0\n",
                      0755)
          .ok());
  WriteConf({BridgePlugin(), {{"type", "berth-fail"}}});
  StartBerthd();
  std::string cgroups_before = Out("ls /sys/fs/cgroup/memory/berth");
  std::string id;
  grpc::Status s = Run(Config("fails"), &id);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error_message().find("refused by test"), std::string::npos) << s.error_message();
  EXPECT_TRUE(List().empty());
  ExpectNoPodsOnDisk();
  EXPECT_EQ(Out("ls /sys/fs/cgroup/memory/berth"), cgroups_before) << "pod cgroup left";
  // The name is free again once the config is fixed.
  WriteConf({BridgePlugin()});
  std::string ok_id;
  for (int i = 0; i < 50; ++i) {  // the plugin notices the changed conf dir
    if (Run(Config("fails"), &ok_id).ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(ok_id.size(), 64u);
}

TEST_F(PodSandboxTest, SigkillAndRestartKeepPodsAndStates) {
  StartBerthd();
  std::string a = MustRun(Config("survivor"));
  std::string b = MustRun(Config("stopped"));
  ASSERT_TRUE(Stop(b).ok());
  rv1::PodSandboxStatusResponse before;
  ASSERT_TRUE(Status(a, &before).ok());
  std::string netns = Info(a)["netNamespacePath"];

  d_->Stop(SIGKILL);
  ASSERT_TRUE(d_->Start()) << d_->Stderr();
  Connect();
  auto pods = List();
  ASSERT_EQ(pods.size(), 2u);
  rv1::PodSandboxStatusResponse after;
  ASSERT_TRUE(Status(a, &after).ok());
  EXPECT_EQ(after.status().state(), rv1::SANDBOX_READY);
  EXPECT_EQ(after.status().network().ip(), before.status().network().ip());
  EXPECT_EQ(after.status().created_at(), before.status().created_at());
  ASSERT_TRUE(Status(b, &after).ok());
  EXPECT_EQ(after.status().state(), rv1::SANDBOX_NOTREADY);
  // The namespace survived the daemon.
  EXPECT_NE(Out("nsenter --net=" + netns + " ip -o -4 addr show eth0")
                .find(before.status().network().ip()),
            std::string::npos);
  // Same names still reserved.
  EXPECT_EQ(Run(Config("survivor"), nullptr).error_code(), grpc::StatusCode::ALREADY_EXISTS);
  ASSERT_TRUE(Remove(a).ok());
  ASSERT_TRUE(Remove(b).ok());
  ExpectNothingLeft(a);
  ExpectNothingLeft(b);
  ExpectNoPodsOnDisk();
}

TEST_F(PodSandboxTest, SigkillDuringRunIsCleanedUpAtRestart) {
  // A plugin after bridge that hangs on ADD: berthd is killed while the pod is half made (netns,
  // veth and IP allocated, record "creating").
  ASSERT_TRUE(AtomicWriteFile(bin_dir_ + "/berth-hang",
                              "#!/bin/sh\ncat >/dev/null\n"
                              "if [ \"$CNI_COMMAND\" = ADD ]; then echo $$ > " +
                                  (*tmp_ / "hanging") + "; exec sleep 30; fi\nexit 0\n",
                              0755)
                  .ok());
  WriteConf({BridgePlugin(), {{"type", "berth-hang"}}});
  StartBerthd();
  std::thread run([&] { (void)Run(Config("half"), nullptr); });
  struct Joiner {
    std::thread& t;
    ~Joiner() {
      if (t.joinable()) t.join();
    }
  } joiner{run};
  for (int i = 0; i < 200 && Slurp(*tmp_ / "hanging").empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_FALSE(Slurp(*tmp_ / "hanging").empty());
  EXPECT_NE(Out("ls -A " + d_->root() + "/pods"), "");
  EXPECT_NE(Out("ip -o link show master " + bridge_), "");
  // The pod's infra process (shared PID namespace, the default) is running too.
  std::string pod_dir = Out("ls -A " + d_->root() + "/pods");
  while (!pod_dir.empty() && pod_dir.back() == '\n') pod_dir.pop_back();
  int infra = nlohmann::json::parse(Slurp(d_->root() + "/pods/" + pod_dir + "/pod.json"))
                  .value("infra_pid", 0);
  ASSERT_GT(infra, 1);
  d_->Stop(SIGKILL);
  run.join();
  // The orphaned plugin (its pid written by the script itself, then exec'd into sleep).
  int hung = std::atoi(Slurp(*tmp_ / "hanging").c_str());
  if (hung > 1) ::kill(hung, SIGKILL);
  WriteConf({BridgePlugin()});
  ASSERT_TRUE(d_->Start()) << d_->Stderr();
  Connect();
  EXPECT_TRUE(List().empty());
  ExpectNoPodsOnDisk();
  EXPECT_NE(d_->Stderr().find("half-created"), std::string::npos);
  EXPECT_TRUE(Dead(infra)) << "infra process left";
}

// A pod whose record disappeared while berthd was down (its netns, veth and IP still exist):
// the network plugin's GC at startup frees its veth and IP.
TEST_F(PodSandboxTest, NetworkOfAPodWithoutRecordIsCollectedAtStartup) {
  StartBerthd();
  std::string id = MustRun(Config("orphan"));
  rv1::PodSandboxStatusResponse st;
  ASSERT_TRUE(Status(id, &st).ok());
  std::string ip = st.status().network().ip();
  ASSERT_FALSE(ip.empty());
  ASSERT_TRUE(Exists(data_dir_ + "/berth-pod-test-" + pid_ + "/" + ip));
  d_->Stop(SIGKILL);
  ASSERT_EQ(Out("rm -rf " + RecordDir(id) + " && echo ok"), "ok\n");
  ASSERT_TRUE(d_->Start()) << d_->Stderr();
  Connect();
  EXPECT_TRUE(List().empty());
  EXPECT_FALSE(Exists(data_dir_ + "/berth-pod-test-" + pid_ + "/" + ip)) << "IP still allocated";
  EXPECT_NE(d_->Stderr().find("freed the network of a pod without a record"), std::string::npos)
      << d_->Stderr();
  ExpectNothingLeft(id);
  ExpectNoPodsOnDisk();
}

TEST_F(PodSandboxTest, SharedPidNamespaceHasAnInfraProcess) {
  StartBerthd();
  rv1::PodSandboxConfig c = Config("sharedpid");
  c.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(
      rv1::NamespaceMode::POD);
  std::string id = MustRun(c);
  nlohmann::json info = Info(id);
  int pid = info["pid"];
  ASSERT_GT(pid, 1);
  std::string pid_ns = info["namespaces"]["pid"];
  EXPECT_EQ(pid_ns, "/proc/" + std::to_string(pid) + "/ns/pid");
  EXPECT_NE(Out("readlink " + pid_ns), Out("readlink /proc/self/ns/pid"));
  // berth-pause is PID 1 there, and lives in the pod cgroup.
  EXPECT_NE(Slurp("/proc/" + std::to_string(pid) + "/status")
                .find("NSpid:\t" + std::to_string(pid) + "\t1\n"),
            std::string::npos);
  EXPECT_NE(Slurp("/proc/" + std::to_string(pid) + "/cgroup").find("memory:/berth/" + id),
            std::string::npos);
  // It survives a SIGKILL of berthd; the pod stays READY.
  d_->Stop(SIGKILL);
  ASSERT_TRUE(d_->Start()) << d_->Stderr();
  Connect();
  rv1::PodSandboxStatusResponse st;
  ASSERT_TRUE(Status(id, &st).ok());
  EXPECT_EQ(st.status().state(), rv1::SANDBOX_READY);
  EXPECT_EQ(Info(id)["pid"], pid);
  // Stop ends it.
  ASSERT_TRUE(Stop(id).ok());
  EXPECT_TRUE(Dead(pid));
  EXPECT_EQ(Info(id)["pid"], 0);
  ASSERT_TRUE(Remove(id).ok());
  ExpectNothingLeft(id);

  // A pod whose infra process dies is NOTREADY after a restart.
  std::string id2 = MustRun(c);
  int pid2 = Info(id2)["pid"];
  ASSERT_GT(pid2, 1);
  d_->Stop(SIGKILL);
  ::kill(pid2, SIGKILL);
  ASSERT_TRUE(d_->Start()) << d_->Stderr();
  Connect();
  ASSERT_TRUE(Status(id2, &st).ok());
  EXPECT_EQ(st.status().state(), rv1::SANDBOX_NOTREADY);
  ASSERT_TRUE(Remove(id2).ok());
  ExpectNothingLeft(id2);

  // ... and at once when it dies while berthd runs (no restart needed).
  std::string id3 = MustRun(c);
  int pid3 = Info(id3)["pid"];
  ASSERT_GT(pid3, 1);
  ::kill(pid3, SIGKILL);
  bool not_ready = false;
  for (int i = 0; i < 100 && !not_ready; ++i) {
    ASSERT_TRUE(Status(id3, &st).ok());
    not_ready = st.status().state() == rv1::SANDBOX_NOTREADY;
    if (!not_ready) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(not_ready);
  ASSERT_TRUE(Remove(id3).ok());
  ExpectNothingLeft(id3);
}

TEST_F(PodSandboxTest, UpdateRuntimeConfigAndStats) {
  StartBerthd();
  {
    grpc::ClientContext ctx;
    Deadline(ctx);
    rv1::UpdateRuntimeConfigRequest req;
    req.mutable_runtime_config()->mutable_network_config()->set_pod_cidr(prefix_ + "0/24");
    rv1::UpdateRuntimeConfigResponse resp;
    grpc::Status s = stub_->UpdateRuntimeConfig(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
  }
  {
    grpc::ClientContext ctx;
    Deadline(ctx);
    rv1::UpdateRuntimeConfigRequest req;
    req.mutable_runtime_config()->mutable_network_config()->set_pod_cidr("not a cidr");
    rv1::UpdateRuntimeConfigResponse resp;
    EXPECT_EQ(stub_->UpdateRuntimeConfig(&ctx, req, &resp).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
  // The CIDR reaches the plugin (ipRanges) and the pod still gets an address in it.
  std::string id = MustRun(Config("stats"));
  rv1::PodSandboxStatusResponse st;
  ASSERT_TRUE(Status(id, &st).ok());
  EXPECT_EQ(st.status().network().ip().rfind(prefix_, 0), 0u);
  {
    grpc::ClientContext ctx;
    Deadline(ctx);
    rv1::PodSandboxStatsRequest req;
    req.set_pod_sandbox_id(id);
    rv1::PodSandboxStatsResponse resp;
    grpc::Status s = stub_->PodSandboxStats(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(resp.stats().attributes().id(), id);
    EXPECT_EQ(resp.stats().attributes().labels().at("app"), "stats");
    EXPECT_TRUE(resp.stats().linux().has_cpu());
    EXPECT_TRUE(resp.stats().linux().has_memory());
    EXPECT_GT(resp.stats().linux().memory().timestamp(), 0);
  }
  {
    grpc::ClientContext ctx;
    Deadline(ctx);
    rv1::ListPodSandboxStatsRequest req;
    rv1::ListPodSandboxStatsResponse resp;
    ASSERT_TRUE(stub_->ListPodSandboxStats(&ctx, req, &resp).ok());
    ASSERT_EQ(resp.stats_size(), 1);
    EXPECT_EQ(resp.stats(0).attributes().id(), id);
  }
}

}  // namespace
}  // namespace berth::testing
