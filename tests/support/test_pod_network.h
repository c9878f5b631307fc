// TestPodNetwork: a CNI bridge network owned by one test (or bench) process, for a real berthd's
// `cni` network plugin with Debian's CNI plugins (bridge + host-local [+ portmap]).
//
// Contract:
//  - Everything is unique to this process (n = getpid()): bridge "<bridge_prefix><n % 100000>",
//    subnet 10.<second_octet>.<20 + n % 200>.0/24 (prefix() is "10.<o>.<x>."), network name
//    "<name>-<n>", conf dir <dir>/net.d, host-local dataDir <dir>/ipam.
//  - Setup() creates the conf and data dirs, saves /proc/sys/net/ipv4/ip_forward and inserts a
//    FORWARD DROP rule (comment "<name>-<n>") so nothing from the bridge is forwarded off it;
//    false when a dir or the rule could not be made. With clean_hostport it first notes whether
//    the portmap plugin's CNI-HOSTPORT-DNAT chain already exists.
//  - WriteConflist() writes <conf dir>/<file> (cniVersion 1.0.0, the network name, `plugins`);
//    BridgePlugin() is the bridge entry (gateway, no ipMasq, host-local on the subnet),
//    PortmapPlugin() the portmap entry (portMappings capability).
//  - The destructor deletes the bridge, removes the FORWARD rule (when added), restores
//    ip_forward (when saved) and, with clean_hostport and no CNI-HOSTPORT-DNAT chain before
//    Setup(), removes the CNI-HOSTPORT-* jumps and chains portmap left. Not copyable.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace berth::testing {

class TestPodNetwork {
 public:
  TestPodNetwork(const std::string& dir, const std::string& name, const std::string& bridge_prefix,
                 int second_octet, bool clean_hostport = false);
  ~TestPodNetwork();
  TestPodNetwork(const TestPodNetwork&) = delete;
  TestPodNetwork& operator=(const TestPodNetwork&) = delete;

  bool Setup();
  bool WriteConflist(const std::vector<nlohmann::json>& plugins, const std::string& file) const;
  nlohmann::json BridgePlugin() const;
  static nlohmann::json PortmapPlugin();

  const std::string& name() const { return name_; }
  const std::string& bridge() const { return bridge_; }
  const std::string& prefix() const { return prefix_; }
  const std::string& conf_dir() const { return conf_dir_; }
  const std::string& data_dir() const { return data_dir_; }

 private:
  std::string ForwardRule() const;

  std::string name_, bridge_, prefix_, conf_dir_, data_dir_, forward_;
  bool clean_hostport_, had_hostport_chains_ = true, forward_rule_ = false;
};

}  // namespace berth::testing
