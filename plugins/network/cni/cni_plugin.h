#pragma once
// CniNetwork: the `cni` network plugin (io.berth.network.v1). Connects a pod sandbox's network
// namespace by running standard CNI plugin binaries (spec 1.0/1.1) from the first valid config
// list in conf_dir, and brings `lo` up with the `loopback` CNI plugin (as containerd does).
//
// Contract (see network.proto for the messages):
//  - Setup: loopback ADD, then the chain's ADD; returns the IPs on the pod interface (IPv4
//    first) and the result's DNS. A second Setup of a set-up pod with the same netns returns
//    the cached result when CNI CHECK (>= 0.4.0) passes, else sets it up again. Any failure
//    runs DEL of the whole chain and of loopback, so nothing (veth, IP allocation, iptables
//    rule) is left; FAILED_PRECONDITION when not ready.
//  - Teardown: DEL (reverse order) with the config/args/result cached at Setup, so it works
//    after a restart or a conflist change; idempotent (no record: DEL with the current config,
//    failures only logged). A failed DEL keeps the record so the caller can retry.
//  - GC: DEL + drop the record of every cached pod not in valid_pod_ids, then CNI 1.1 GC with
//    cni.dev/valid-attachments when the current list is >= 1.1.0.
//  - Status: NetworkPluginNotReady when no valid config, a binary is missing, or a 1.1 STATUS
//    fails.
// The record of a pod is written before ADD runs so that a crash mid-Setup is undone by GC.
//
// Threads: methods run concurrently; calls for the same pod are serialised (PodLocks), the
// config watcher has its own mutex, plugin binaries run outside every shared lock.

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "berth/sdk/network.h"
#include "common/status.h"
#include "plugins/network/cni/cni_cache.h"
#include "plugins/network/cni/cni_config.h"
#include "plugins/network/cni/cni_runner.h"

namespace berth::cni {

namespace pv1 = ::berth::plugin::v1;
using SdkStatus = ::berth::sdk::Status;

// One mutex per key, created on demand and dropped when nobody holds or waits for it.
class PodLocks {
 public:
  class Guard {
   public:
    Guard(PodLocks& owner, std::string key);
    ~Guard();
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;

   private:
    PodLocks& owner_;
    std::string key_;
    std::mutex* mu_;
  };

 private:
  std::mutex mu_;
  std::map<std::string, std::pair<std::unique_ptr<std::mutex>, int>> locks_;  // mutex, users
};

class CniNetwork final : public sdk::NetworkPlugin {
 public:
  SdkStatus Init(std::string_view config_json) override;
  SdkStatus Setup(const pv1::SetupNetworkRequest& req, pv1::SetupNetworkResponse* resp) override;
  SdkStatus Teardown(const pv1::TeardownNetworkRequest& req,
                     pv1::TeardownNetworkResponse* resp) override;
  SdkStatus GetStatus(const pv1::NetworkStatusRequest& req,
                      pv1::NetworkStatusResponse* resp) override;
  SdkStatus GC(const pv1::NetworkGCRequest& req, pv1::NetworkGCResponse* resp) override;

 private:
  // The current config list (reloaded when conf_dir changed).
  Result<NetworkList> CurrentList();
  // Why the plugin cannot set up pods now (config, binaries); OK when it can.
  Status Readiness(NetworkList* list);
  // DEL of `att` (its cached chain, then loopback). OK when everything was freed.
  Status Delete(const Attachment& att);
  void Warn(const std::string& msg) const { host().Warn(msg); }

  PluginConfig cfg_;
  std::unique_ptr<Runner> runner_;
  std::unique_ptr<AttachmentCache> cache_;
  std::mutex conf_mu_;  // guards watcher_
  std::unique_ptr<ConfigWatcher> watcher_;
  PodLocks locks_;
};

// The list containerd runs for `lo`: {"type": "loopback"} on interface "lo".
NetworkList LoopbackList();

}  // namespace berth::cni
