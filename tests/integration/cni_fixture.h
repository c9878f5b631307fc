#pragma once
// Fixture for the `cni` network plugin tests: the real cni.so through the real PluginHost, the
// real Debian CNI plugins (/usr/lib/cni), and everything test-unique: a conf dir in a temp dir,
// a bridge "bcni<pid>", a subnet 10.199.<n>.0/24, host-local's dataDir in the temp dir, network
// namespaces "berthcni-<pid>-*". Root only.
//
// Host safety: ip_forward is saved and restored (the bridge plugin's isGateway turns it on),
// and for the whole test a FORWARD DROP rule stops anything entering from the test bridge from
// being forwarded to another interface. TearDown deletes the netns, the bridge, the rules and
// the portmap chains the test created (only those that did not exist before).

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "berth/plugin/v1/network.pb.h"
#include "common/fs.h"
#include "cri/plugin_host/plugin_host.h"
#include "tests/support/test_env.h"

namespace berth::cni::testing {

namespace pv1 = ::berth::plugin::v1;

inline int Sh(const std::string& cmd) { return std::system(cmd.c_str()); }

// stdout of a shell command (stderr discarded unless the command redirects it).
inline std::string Out(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>/dev/null").c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

inline bool Exists(const std::string& path) { return std::filesystem::exists(path); }

class CniTest : public ::testing::Test {
 protected:
  void SetUp() override {
    BERTH_REQUIRE_ROOT();
    tmp_ = std::make_unique<::berth::testing::TempDir>();
    pid_ = std::to_string(getpid());
    std::string oct = std::to_string(20 + getpid() % 200);
    prefix_ = "10.199." + oct + ".";
    subnet_ = prefix_ + "0/24";
    bridge_ = "bcni" + std::to_string(getpid() % 100000);
    network_ = "berth-test-" + pid_;
    conf_dir_ = *tmp_ / "net.d";
    bin_dir_ = *tmp_ / "bin";
    data_dir_ = *tmp_ / "ipam";
    root_ = *tmp_ / "root";
    plugins_dir_ = *tmp_ / "plugins";
    for (const auto& d : {conf_dir_, bin_dir_, data_dir_, root_, plugins_dir_, *tmp_ / "state"}) {
      ASSERT_TRUE(MakeDirs(d, 0755).ok());
    }
    std::filesystem::create_symlink(std::string(BERTH_PLUGIN_BUILD_DIR) + "/cni.so",
                                    plugins_dir_ + "/cni.so");
    forward_ = Out("cat /proc/sys/net/ipv4/ip_forward");
    while (!forward_.empty() && forward_.back() == '\n') forward_.pop_back();
    had_hostport_chains_ = Sh("iptables -t nat -S CNI-HOSTPORT-DNAT >/dev/null 2>&1") == 0;
    ASSERT_EQ(Sh("iptables -I FORWARD 1 " + ForwardRule()), 0);
    forward_rule_ = true;
  }

  void TearDown() override {
    host_.reset();
    if (!tmp_) return;  // skipped before anything was made
    for (pid_t p : servers_) {
      ::kill(p, SIGKILL);
      ::waitpid(p, nullptr, 0);
    }
    for (const auto& ns : netns_) Sh("ip netns del " + ns + " 2>/dev/null");
    Sh("ip link del " + bridge_ + " 2>/dev/null");
    if (forward_rule_) Sh("iptables -D FORWARD " + ForwardRule());
    if (!forward_.empty()) Sh("echo " + forward_ + " > /proc/sys/net/ipv4/ip_forward");
    if (!had_hostport_chains_) RemoveHostportChains();
  }

  std::string ForwardRule() const {
    return "-i " + bridge_ + " ! -o " + bridge_ + " -j DROP -m comment --comment berth-cni-test-" +
           pid_;
  }

  // portmap's shared chains and their jump rules (only when this test created them).
  static void RemoveHostportChains() {
    for (const char* chain : {"PREROUTING", "OUTPUT", "POSTROUTING"}) {
      std::string rules =
          Out(std::string("iptables -t nat -S ") + chain + " | grep -- '-j CNI-HOSTPORT-'");
      size_t pos = 0;
      while ((pos = rules.find("-A ", pos)) != std::string::npos) {
        size_t end = rules.find('\n', pos);
        std::string rule = rules.substr(pos + 3, end - pos - 3);
        Sh("iptables -t nat -D " + rule);
        pos = end;
      }
    }
    for (const char* c : {"CNI-HOSTPORT-DNAT", "CNI-HOSTPORT-SETMARK", "CNI-HOSTPORT-MASQ"}) {
      Sh(std::string("iptables -t nat -F ") + c + " 2>/dev/null; iptables -t nat -X " + c +
         " 2>/dev/null");
    }
  }

  nlohmann::json CniConfig() const {
    return {{"conf_dir", conf_dir_}, {"bin_dirs", {bin_dir_, "/usr/lib/cni"}}};
  }

  // (Re)creates the plugin host, as berthd does at start; the cache lives under root_.
  void StartHost(const nlohmann::json& cni_config) {
    host_.reset();
    nlohmann::json cfg = {{"cni", cni_config}};
    host_ = std::make_unique<PluginHost>(Logger(LogLevel::kError), cfg, root_, *tmp_ / "state");
    host_->LoadAll({plugins_dir_});
    cni_ = host_->Find(BERTH_PLUGIN_TYPE_NETWORK, "cni");
    ASSERT_NE(cni_, nullptr) << (host_->List().empty() ? "no plugin" : host_->List()[0].error);
  }
  void StartHost() { StartHost(CniConfig()); }

  std::string CacheRecord(const std::string& pod) const {
    return root_ + "/plugins/io.berth.network.v1/cni/pods/" + pod + ".json";
  }

  nlohmann::json BridgePlugin() const {
    nlohmann::json range = nlohmann::json::array({nlohmann::json{{"subnet", subnet_}}});
    return {{"type", "bridge"},
            {"bridge", bridge_},
            {"isGateway", true},
            {"ipMasq", false},
            {"hairpinMode", true},
            {"ipam",
             {{"type", "host-local"},
              {"ranges", nlohmann::json::array({range})},
              {"dataDir", data_dir_}}}};
  }
  static nlohmann::json PortmapPlugin() {
    return {{"type", "portmap"}, {"capabilities", {{"portMappings", true}}}};
  }
  void WriteConf(const std::string& file, const std::vector<nlohmann::json>& plugins,
                 const std::string& version = "1.0.0") {
    nlohmann::json list = {{"cniVersion", version}, {"name", network_}, {"plugins", plugins}};
    ASSERT_TRUE(AtomicWriteFile(conf_dir_ + "/" + file, list.dump(2)).ok());
  }
  void WriteScript(const std::string& name, const std::string& body) {
    ASSERT_TRUE(AtomicWriteFile(bin_dir_ + "/" + name, "#!/bin/sh\n" + body, 0755).ok());
  }

  std::string NewNetns(const std::string& suffix) {
    std::string name = "berthcni-" + pid_ + "-" + suffix;
    EXPECT_EQ(Sh("ip netns add " + name), 0);
    netns_.push_back(name);
    return name;
  }
  std::string PodId(const std::string& suffix) const { return "cnitest-" + pid_ + "-" + suffix; }

  pv1::SetupNetworkRequest SetupRequest(const std::string& pod, const std::string& ns) const {
    pv1::SetupNetworkRequest req;
    req.mutable_pod()->set_pod_id(pod);
    req.mutable_pod()->set_name("name-" + pod);
    req.mutable_pod()->set_namespace_("default");
    req.mutable_pod()->set_uid("uid-" + pod);
    req.mutable_pod()->set_netns_path("/run/netns/" + ns);
    return req;
  }
  Status Setup(const pv1::SetupNetworkRequest& req, pv1::SetupNetworkResponse* resp) {
    return cni_->Invoke("Setup", req, resp);
  }
  Status Teardown(const std::string& pod, const std::string& ns) {
    pv1::TeardownNetworkRequest req;
    req.mutable_pod()->set_pod_id(pod);
    req.mutable_pod()->set_netns_path(ns.empty() ? "" : "/run/netns/" + ns);
    pv1::TeardownNetworkResponse resp;
    return cni_->Invoke("Teardown", req, &resp);
  }
  pv1::NetworkStatusResponse NetStatus() {
    pv1::NetworkStatusResponse resp;
    Status s = cni_->Invoke("Status", pv1::NetworkStatusRequest(), &resp);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return resp;
  }

  // "10.199.x.y/24" → "10.199.x.y".
  static std::string Ip(const std::string& cidr) { return cidr.substr(0, cidr.find('/')); }
  std::string IpamFile(const std::string& ip) const {
    return data_dir_ + "/" + network_ + "/" + ip;
  }
  // Interfaces enslaved to the test bridge (the host ends of the pods' veths).
  std::string BridgePorts() const { return Out("ip -o link show master " + bridge_); }

  // The body of http://<ip>:<port><path>, fetched with busybox nc (from netns `ns` when not
  // empty); "" when unreachable. (Debian's static busybox wget crashes, nc does not.)
  static std::string HttpGet(const std::string& ns, const std::string& ip, int port,
                             const std::string& path, int timeout_s = 2) {
    std::string resp = Out("printf 'GET " + path + " HTTP/1.0\\r\\n\\r\\n' | " +
                           (ns.empty() ? "" : "ip netns exec " + ns + " ") + "busybox nc -w " +
                           std::to_string(timeout_s) + " " + ip + " " + std::to_string(port));
    size_t body = resp.find("\r\n\r\n");
    return body == std::string::npos ? "" : resp.substr(body + 4);
  }

  // Starts `argv` (no shell) and remembers it to kill in TearDown.
  void Spawn(const std::vector<std::string>& argv) {
    std::vector<char*> a;
    for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    pid_t pid;
    ASSERT_EQ(::posix_spawnp(&pid, a[0], nullptr, nullptr, a.data(), environ), 0);
    servers_.push_back(pid);
  }

  std::unique_ptr<::berth::testing::TempDir> tmp_;
  std::string pid_, prefix_, subnet_, bridge_, network_;
  std::string conf_dir_, bin_dir_, data_dir_, root_, plugins_dir_;
  std::string forward_;
  bool had_hostport_chains_ = true, forward_rule_ = false;
  std::vector<std::string> netns_;
  std::vector<pid_t> servers_;
  std::unique_ptr<PluginHost> host_;
  PluginHandle* cni_ = nullptr;
};

}  // namespace berth::cni::testing
