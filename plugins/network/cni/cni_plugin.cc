// CniNetwork: construction, readiness, GC and the export glue; Setup/Teardown are in
// cni_plugin_pod.cc.
#include "plugins/network/cni/cni_plugin.h"

#include <set>

#include "berth/sdk/export.h"

namespace berth::cni {
namespace {

constexpr std::chrono::seconds kPluginTimeout{60};

SdkStatus ToSdk(const Status& s) {
  return SdkStatus(static_cast<sdk::Code>(s.code()), s.message());
}

}  // namespace

PodLocks::Guard::Guard(PodLocks& owner, std::string key) : owner_(owner), key_(std::move(key)) {
  {
    std::lock_guard<std::mutex> lock(owner_.mu_);
    auto& slot = owner_.locks_[key_];
    if (!slot.first) slot.first = std::make_unique<std::mutex>();
    ++slot.second;
    mu_ = slot.first.get();
  }
  mu_->lock();
}

PodLocks::Guard::~Guard() {
  mu_->unlock();
  std::lock_guard<std::mutex> lock(owner_.mu_);
  auto it = owner_.locks_.find(key_);
  if (--it->second.second == 0) owner_.locks_.erase(it);
}

NetworkList LoopbackList() {
  NetworkList l;
  l.name = "cni-loopback";
  l.cni_version = "1.0.0";
  l.plugins.push_back({{"type", "loopback"}});
  l.source = "(built-in loopback)";
  return l;
}

SdkStatus CniNetwork::Init(std::string_view config_json) {
  Result<PluginConfig> cfg = ParsePluginConfig(config_json);
  if (!cfg.ok()) return ToSdk(cfg.status());
  cfg_ = std::move(cfg).value();
  if (cfg_.cache_dir.empty()) {
    // Root dir first: it survives reboots, like host-local's IP allocations it lets us free.
    cfg_.cache_dir =
        std::string(!host().root_dir().empty() ? host().root_dir() : host().state_dir());
  }
  if (cfg_.cache_dir.empty()) {
    return SdkStatus(sdk::Code::kFailedPrecondition,
                     "cni: no cache_dir configured and the host offers no plugin directory");
  }
  cache_ = std::make_unique<AttachmentCache>(cfg_.cache_dir);
  if (Status s = cache_->Init(); !s.ok()) return ToSdk(s.Wrap("cni cache"));
  runner_ = std::make_unique<Runner>(cfg_.bin_dirs, kPluginTimeout,
                                     [this](const std::string& m) { Warn(m); });
  watcher_ = std::make_unique<ConfigWatcher>(cfg_.conf_dir);
  return sdk::OkStatus();
}

Result<NetworkList> CniNetwork::CurrentList() {
  std::lock_guard<std::mutex> lock(conf_mu_);
  return watcher_->Current();
}

Status CniNetwork::Readiness(NetworkList* list) {
  Result<NetworkList> l = CurrentList();
  if (!l.ok()) return l.status();
  if (Status s = runner_->CheckBinaries(*l); !s.ok()) {
    return FailedPrecondition("network config " + l->source + ": " + s.message());
  }
  if (Status s = runner_->CheckBinaries(LoopbackList()); !s.ok()) {
    return FailedPrecondition("cannot bring up lo: " + s.message());
  }
  if (list != nullptr) *list = std::move(l).value();
  return OkStatus();
}

Status CniNetwork::Delete(const Attachment& att) {
  Result<NetworkList> list = NetworkList::FromJson(att.network, "cached config of " + att.pod_id);
  Status first = list.ok() ? runner_->Del(*list, att) : list.status();
  Attachment lo = att;
  lo.ifname = "lo";
  lo.result = nullptr;
  Status s = runner_->Del(LoopbackList(), lo);
  return first.ok() ? s : first;
}

SdkStatus CniNetwork::GetStatus(const pv1::NetworkStatusRequest&,
                                pv1::NetworkStatusResponse* resp) {
  NetworkList list;
  Status s = Readiness(&list);
  if (s.ok()) s = runner_->PluginStatus(list);
  resp->set_ready(s.ok());
  if (!s.ok()) {
    resp->set_reason("NetworkPluginNotReady");
    resp->set_message("cni: " + s.message() + " (conf_dir " + cfg_.conf_dir + ")");
  }
  return sdk::OkStatus();
}

SdkStatus CniNetwork::GC(const pv1::NetworkGCRequest& req, pv1::NetworkGCResponse* resp) {
  std::set<std::string> valid(req.valid_pod_ids().begin(), req.valid_pod_ids().end());
  std::vector<std::pair<std::string, std::string>> attachments;
  for (const std::string& id : cache_->List()) {
    PodLocks::Guard guard(locks_, id);
    Result<Attachment> att = cache_->Load(id);
    if (valid.count(id)) {
      if (att.ok()) attachments.emplace_back(id, att->ifname);
      continue;
    }
    if (!att.ok()) {
      if (att.status().code() == StatusCode::kNotFound) continue;  // torn down meanwhile
      Warn("cni gc: dropping unreadable record of " + id + ": " + att.status().message());
    } else if (Status s = Delete(*att); !s.ok()) {
      Warn("cni gc: pod " + id + ": " + s.message() + " (kept for the next GC)");
      continue;
    }
    if (Status s = cache_->Remove(id); !s.ok()) {
      Warn("cni gc: " + s.message());
      continue;
    }
    resp->add_removed_pod_ids(id);
  }
  // CNI 1.1 GC lets plugins free what they hold for attachments we never recorded.
  Result<NetworkList> list = CurrentList();
  if (list.ok()) {
    if (Status s = runner_->Gc(*list, attachments); !s.ok()) Warn("cni gc: " + s.message());
  }
  return sdk::OkStatus();
}

}  // namespace berth::cni

BERTH_EXPORT_PLUGIN(berth::cni::CniNetwork, "cni", BERTH_VERSION)
