#include "tests/support/test_pod_network.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "common/fs.h"

namespace berth::testing {
namespace {

int Sh(const std::string& cmd) { return std::system(cmd.c_str()); }

std::string Out(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>/dev/null").c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

}  // namespace

TestPodNetwork::TestPodNetwork(const std::string& dir, const std::string& name,
                               const std::string& bridge_prefix, int second_octet,
                               bool clean_hostport)
    : name_(name + "-" + std::to_string(getpid())),
      bridge_(bridge_prefix + std::to_string(getpid() % 100000)),
      prefix_("10." + std::to_string(second_octet) + "." + std::to_string(20 + getpid() % 200) +
              "."),
      conf_dir_(dir + "/net.d"),
      data_dir_(dir + "/ipam"),
      clean_hostport_(clean_hostport) {}

TestPodNetwork::~TestPodNetwork() {
  Sh("ip link del " + bridge_ + " 2>/dev/null");
  if (forward_rule_) Sh("iptables -D FORWARD " + ForwardRule());
  if (!forward_.empty()) Sh("echo " + forward_ + " > /proc/sys/net/ipv4/ip_forward");
  if (clean_hostport_ && !had_hostport_chains_) {
    for (const char* chain : {"PREROUTING", "OUTPUT", "POSTROUTING"}) {
      Sh(std::string("iptables -t nat -S ") + chain +
         " | grep -- '-j CNI-HOSTPORT-' | sed 's/^-A/-D/' | "
         "while read -r r; do eval \"iptables -t nat $r\"; done");  // eval: quoted comments
    }
    for (const char* c : {"CNI-HOSTPORT-DNAT", "CNI-HOSTPORT-SETMARK", "CNI-HOSTPORT-MASQ"}) {
      Sh(std::string("iptables -t nat -F ") + c + " 2>/dev/null; iptables -t nat -X " + c +
         " 2>/dev/null");
    }
  }
}

bool TestPodNetwork::Setup() {
  for (const auto& d : {conf_dir_, data_dir_}) {
    if (!MakeDirs(d, 0755).ok()) return false;
  }
  forward_ = Out("cat /proc/sys/net/ipv4/ip_forward");
  if (clean_hostport_) {
    had_hostport_chains_ = Sh("iptables -t nat -S CNI-HOSTPORT-DNAT >/dev/null 2>&1") == 0;
  }
  forward_rule_ = Sh("iptables -I FORWARD 1 " + ForwardRule()) == 0;
  return forward_rule_;
}

std::string TestPodNetwork::ForwardRule() const {
  return "-i " + bridge_ + " ! -o " + bridge_ + " -j DROP -m comment --comment " + name_;
}

nlohmann::json TestPodNetwork::BridgePlugin() const {
  nlohmann::json range = nlohmann::json::array({nlohmann::json{{"subnet", prefix_ + "0/24"}}});
  return {{"type", "bridge"},
          {"bridge", bridge_},
          {"isGateway", true},
          {"ipMasq", false},
          {"ipam",
           {{"type", "host-local"},
            {"ranges", nlohmann::json::array({range})},
            {"dataDir", data_dir_}}}};
}

nlohmann::json TestPodNetwork::PortmapPlugin() {
  return {{"type", "portmap"}, {"capabilities", {{"portMappings", true}}}};
}

bool TestPodNetwork::WriteConflist(const std::vector<nlohmann::json>& plugins,
                                   const std::string& file) const {
  nlohmann::json list = {{"cniVersion", "1.0.0"}, {"name", name_}, {"plugins", plugins}};
  return AtomicWriteFile(conf_dir_ + "/" + file, list.dump(2)).ok();
}

}  // namespace berth::testing
