// CniNetwork::Setup and ::Teardown, and the translation of their requests into CNI arguments
// (CNI_ARGS, capability args / runtimeConfig: portMappings, bandwidth, ipRanges, dns,
// cgroupPath, io.kubernetes.cri.pod-annotations).
#include <sys/stat.h>

#include <cmath>
#include <cstdint>

#include "plugins/network/cni/cni_plugin.h"
#include "plugins/network/cni/cni_result.h"

namespace berth::cni {
namespace {

SdkStatus ToSdk(const Status& s) {
  return SdkStatus(static_cast<sdk::Code>(s.code()), s.message());
}

// A Kubernetes quantity ("10M", "1Gi", "500k", "1.5M") as a number (bits per second here).
Result<uint64_t> ParseQuantity(const std::string& q) {
  size_t pos = 0;
  double v = 0;
  try {
    v = std::stod(q, &pos);
  } catch (...) {
    return InvalidArgument("bandwidth \"" + q + "\" is not a quantity");
  }
  std::string suffix = q.substr(pos);
  static const std::pair<const char*, double> kSuffixes[] = {
      {"", 1},     {"k", 1e3},     {"M", 1e6},        {"G", 1e9},           {"T", 1e12},
      {"P", 1e15}, {"Ki", 1024.0}, {"Mi", 1048576.0}, {"Gi", 1073741824.0}, {"Ti", 1099511627776.0},
      {"m", 1e-3}};
  for (const auto& [s, mul] : kSuffixes) {
    if (suffix == s) {
      double bits = v * mul;
      if (!(bits >= 1) || bits > 1e15)
        return InvalidArgument("bandwidth \"" + q + "\" out of range");
      return static_cast<uint64_t>(std::llround(bits));
    }
  }
  return InvalidArgument("bandwidth \"" + q + "\" has an unknown suffix");
}

Status CheckArgValue(const char* what, const std::string& v) {
  if (v.find_first_of(";=") != std::string::npos) {
    return InvalidArgument(std::string("pod ") + what + " \"" + v + "\" contains ';' or '='");
  }
  return OkStatus();
}

Result<Attachment> MakeAttachment(const pv1::PodNetworkRef& pod, const std::string& ifname) {
  if (!ValidContainerId(pod.pod_id()))
    return InvalidArgument("invalid pod id \"" + pod.pod_id() + "\"");
  BERTH_RETURN_IF_ERROR(CheckArgValue("name", pod.name()));
  BERTH_RETURN_IF_ERROR(CheckArgValue("namespace", pod.namespace_()));
  BERTH_RETURN_IF_ERROR(CheckArgValue("uid", pod.uid()));
  Attachment a;
  a.pod_id = pod.pod_id();
  a.netns = pod.netns_path();
  a.ifname = ifname;
  a.cni_args = {{"IgnoreUnknown", "1"},
                {"K8S_POD_NAMESPACE", pod.namespace_()},
                {"K8S_POD_NAME", pod.name()},
                {"K8S_POD_INFRA_CONTAINER_ID", pod.pod_id()},
                {"K8S_POD_UID", pod.uid()}};
  return a;
}

Result<nlohmann::json> CapabilityArgs(const pv1::SetupNetworkRequest& req) {
  nlohmann::json caps = nlohmann::json::object();
  nlohmann::json ports = nlohmann::json::array();
  for (const auto& pm : req.port_mappings()) {
    if (pm.host_port() <= 0) continue;  // no hostPort: nothing for portmap to do
    if (pm.host_port() > 65535 || pm.container_port() <= 0 || pm.container_port() > 65535) {
      return InvalidArgument("port mapping " + std::to_string(pm.host_port()) + ":" +
                             std::to_string(pm.container_port()) + " out of range");
    }
    std::string proto = pm.protocol().empty() ? "tcp" : pm.protocol();
    for (auto& c : proto) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (proto != "tcp" && proto != "udp" && proto != "sctp") {
      return InvalidArgument("port mapping protocol \"" + pm.protocol() + "\" is not tcp/udp/sctp");
    }
    nlohmann::json p = {
        {"hostPort", pm.host_port()}, {"containerPort", pm.container_port()}, {"protocol", proto}};
    if (!pm.host_ip().empty()) p["hostIP"] = pm.host_ip();
    ports.push_back(std::move(p));
  }
  if (!ports.empty()) caps["portMappings"] = ports;
  if (!req.bandwidth_ingress().empty() || !req.bandwidth_egress().empty()) {
    nlohmann::json bw = nlohmann::json::object();
    // Burst as Kubernetes' own CNI callers set it: effectively unlimited.
    constexpr int64_t kBurst = 2147483647;
    if (!req.bandwidth_ingress().empty()) {
      Result<uint64_t> r = ParseQuantity(req.bandwidth_ingress());
      if (!r.ok()) return r.status();
      bw["ingressRate"] = *r;
      bw["ingressBurst"] = kBurst;
    }
    if (!req.bandwidth_egress().empty()) {
      Result<uint64_t> r = ParseQuantity(req.bandwidth_egress());
      if (!r.ok()) return r.status();
      bw["egressRate"] = *r;
      bw["egressBurst"] = kBurst;
    }
    caps["bandwidth"] = bw;
  }
  if (!req.pod_cidrs().empty()) {
    nlohmann::json ranges = nlohmann::json::array();
    for (const auto& c : req.pod_cidrs())
      ranges.push_back(nlohmann::json::array({{{"subnet", c}}}));
    caps["ipRanges"] = ranges;
  }
  if (req.has_dns()) {
    caps["dns"] = {{"servers", req.dns().servers()},
                   {"searches", req.dns().searches()},
                   {"options", req.dns().options()}};
  }
  if (!req.cgroup_parent().empty()) caps["cgroupPath"] = req.cgroup_parent();
  if (!req.annotations().empty()) {
    nlohmann::json ann = nlohmann::json::object();
    for (const auto& [k, v] : req.annotations()) ann[k] = v;
    caps["io.kubernetes.cri.pod-annotations"] = ann;
  }
  return caps;
}

void FillResponse(const Attachment& att, pv1::SetupNetworkResponse* resp) {
  ParsedResult r = ParseResult(att.result, att.ifname);
  for (const auto& ip : r.ips) {
    pv1::IPConfig* out = resp->add_ips();
    out->set_interface(ip.interface.empty() ? att.ifname : ip.interface);
    out->set_address(ip.address);
    out->set_gateway(ip.gateway);
  }
  for (const auto& s : r.dns_servers) resp->mutable_dns()->add_servers(s);
  for (const auto& s : r.dns_searches) resp->mutable_dns()->add_searches(s);
  for (const auto& s : r.dns_options) resp->mutable_dns()->add_options(s);
}

}  // namespace

SdkStatus CniNetwork::Setup(const pv1::SetupNetworkRequest& req, pv1::SetupNetworkResponse* resp) {
  Result<Attachment> made = MakeAttachment(req.pod(), cfg_.interface);
  if (!made.ok()) return ToSdk(made.status());
  Attachment att = std::move(made).value();
  struct stat st;
  if (att.netns.empty() || att.netns[0] != '/' || ::stat(att.netns.c_str(), &st) != 0) {
    return sdk::InvalidArgument("pod " + att.pod_id + ": netns_path \"" + att.netns +
                                "\" is not an existing absolute path");
  }
  Result<nlohmann::json> caps = CapabilityArgs(req);
  if (!caps.ok()) return ToSdk(caps.status().Wrap("pod " + att.pod_id));
  att.capability_args = std::move(caps).value();

  PodLocks::Guard guard(locks_, att.pod_id);
  if (Result<Attachment> old = cache_->Load(att.pod_id); old.ok()) {
    if (old->complete && old->netns == att.netns) {
      // Idempotent repeat: answer from the record if CNI CHECK agrees it is still in place.
      Result<NetworkList> cached =
          NetworkList::FromJson(old->network, "cached config of " + att.pod_id);
      Status check = cached.ok() ? runner_->Check(*cached, *old) : cached.status();
      if (check.ok()) {
        FillResponse(*old, resp);
        return sdk::OkStatus();
      }
      Warn("pod " + att.pod_id + ": setting up again: " + check.message());
    }
    // A half-done Setup (crash), a new netns or a failed CHECK: free the old attachment first.
    if (Status s = Delete(*old); !s.ok())
      return ToSdk(s.Wrap("pod " + att.pod_id + ": undo earlier setup"));
    if (Status s = cache_->Remove(att.pod_id); !s.ok()) return ToSdk(s);
  }
  NetworkList list;
  if (Status s = Readiness(&list); !s.ok()) {
    return SdkStatus(sdk::Code::kFailedPrecondition, "cni not ready: " + s.message());
  }
  att.network = list.ToJson();
  if (Status s = cache_->Save(att); !s.ok()) return ToSdk(s.Wrap("pod " + att.pod_id));

  Attachment lo = att;
  lo.ifname = "lo";
  Status s = runner_->Add(LoopbackList(), lo).status();
  if (s.ok()) {
    Result<nlohmann::json> result = runner_->Add(list, att);
    s = result.status();
    if (s.ok()) {
      att.result = std::move(result).value();
      att.complete = true;
      s = cache_->Save(att);
    }
  }
  if (!s.ok()) {
    Attachment undo = att;
    undo.result = nullptr;
    if (Status d = Delete(undo); !d.ok()) {
      // The record stays so that Teardown/GC can retry what this DEL could not free.
      Warn("pod " + att.pod_id + ": cleanup after failed setup: " + d.message());
    } else if (Status r = cache_->Remove(att.pod_id); !r.ok()) {
      Warn(r.message());
    }
    return ToSdk(s.Wrap("pod " + att.pod_id + ": network " + list.name + " (" + list.source + ")"));
  }
  FillResponse(att, resp);
  return sdk::OkStatus();
}

SdkStatus CniNetwork::Teardown(const pv1::TeardownNetworkRequest& req,
                               pv1::TeardownNetworkResponse*) {
  const std::string& id = req.pod().pod_id();
  if (!ValidContainerId(id)) return sdk::InvalidArgument("invalid pod id \"" + id + "\"");
  PodLocks::Guard guard(locks_, id);
  Result<Attachment> att = cache_->Load(id);
  if (att.ok()) {
    if (!req.pod().netns_path().empty()) att->netns = req.pod().netns_path();
    if (Status s = Delete(*att); !s.ok()) return ToSdk(s.Wrap("pod " + id + ": teardown"));
    return ToSdk(cache_->Remove(id));
  }
  if (att.status().code() != StatusCode::kNotFound) {
    Warn("pod " + id + ": " + att.status().message() + "; tearing down with the current config");
  }
  // No record: never set up, already torn down, or the record was lost. DEL is idempotent, so
  // run it with the current config in case something is left; failures are only logged.
  Result<NetworkList> list = CurrentList();
  if (!list.ok()) return sdk::OkStatus();
  Result<Attachment> fresh = MakeAttachment(req.pod(), cfg_.interface);
  if (!fresh.ok()) return sdk::OkStatus();
  fresh->network = list->ToJson();
  if (Status s = Delete(*fresh); !s.ok())
    Warn("pod " + id + ": teardown without record: " + s.message());
  (void)cache_->Remove(id);  // a corrupt record must not outlive its pod
  return sdk::OkStatus();
}

}  // namespace berth::cni
