// RuntimeService: the pod sandbox RPCs (delegating to cri/pod's PodManager), their list
// streams (list_stream.h) and UpdateRuntimeConfig (the node's pod CIDR, kept by the pod manager
// for network setups).
#include <vector>

#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>

#include "cri/pod/pod_manager.h"
#include "cri/pod/pod_namespaces.h"
#include "cri/server/grpc_status.h"
#include "cri/server/runtime_service.h"

namespace berth {
namespace {

using runtime::v1::NamespaceMode;

grpc::Status NoPods() {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                      "berthd is starting: the pod manager is not ready yet");
}

runtime::v1::PodSandboxState ToCri(PodState s) {
  return s == PodState::kReady ? runtime::v1::SANDBOX_READY : runtime::v1::SANDBOX_NOTREADY;
}

bool MatchesLabels(const PodView& v, const google::protobuf::Map<std::string, std::string>& sel) {
  for (const auto& [k, val] : sel) {
    auto it = v.config.labels().find(k);
    if (it == v.config.labels().end() || it->second != val) return false;
  }
  return true;
}

// The pod's namespace modes as the pod reports them (what it asked for, with the pid default).
runtime::v1::NamespaceOption NamespacesOf(const PodView& v) {
  runtime::v1::NamespaceOption ns = v.config.linux().security_context().namespace_options();
  ns.set_network(v.host_network ? NamespaceMode::NODE : NamespaceMode::POD);
  ns.set_ipc(v.host_ipc ? NamespaceMode::NODE : NamespaceMode::POD);
  return ns;
}

nlohmann::json VerboseInfo(const PodView& v) {
  std::string config;
  google::protobuf::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(v.config, &config, opts);
  nlohmann::json ns = {{"network", v.netns_path},
                       {"ipc", v.ipc_ns_path},
                       {"uts", v.uts_ns_path},
                       {"pid", v.pid_ns_path}};
  return {{"pid", v.infra_pid},  // berth-pause, only with a shared PID namespace
          {"netNamespacePath", v.netns_path},
          {"netNamespaceClosed", v.host_network || !IsNamespaceMount(v.netns_path)},
          {"namespaces", ns},
          {"runtimeHandler", v.runtime_handler},
          {"runtimePlugin", v.runtime_plugin},
          {"cgroupParent", v.cgroup_parent},
          {"hostname", v.hostname},
          {"hostnamePath", v.hostname_path},
          {"hostsPath", v.hosts_path},
          {"resolvConfPath", v.resolv_conf_path},
          {"shmPath", v.shm_path},
          {"config", nlohmann::json::parse(config, nullptr, false)}};
}

void FillStats(const PodView& v, const PodCgroupStats& s, runtime::v1::PodSandboxStats* out) {
  auto* a = out->mutable_attributes();
  a->set_id(v.id);
  *a->mutable_metadata() = v.config.metadata();
  *a->mutable_labels() = v.config.labels();
  *a->mutable_annotations() = v.config.annotations();
  auto* l = out->mutable_linux();
  if (s.has_cpu) {
    l->mutable_cpu()->set_timestamp(s.timestamp_unix_nano);
    l->mutable_cpu()->mutable_usage_core_nano_seconds()->set_value(s.cpu_usage_ns);
  }
  if (s.has_memory) {
    auto* m = l->mutable_memory();
    m->set_timestamp(s.timestamp_unix_nano);
    m->mutable_working_set_bytes()->set_value(s.memory_working_set_bytes);
    m->mutable_usage_bytes()->set_value(s.memory_usage_bytes);
    m->mutable_rss_bytes()->set_value(s.memory_rss_bytes);
    m->mutable_page_faults()->set_value(s.page_faults);
    m->mutable_major_page_faults()->set_value(s.major_page_faults);
  }
  if (s.has_pids) {
    l->mutable_process()->set_timestamp(s.timestamp_unix_nano);
    l->mutable_process()->mutable_process_count()->set_value(s.process_count);
  }
}

// ListPodSandbox and StreamPodSandboxes: the pods matching `f` (id prefix, state, labels),
// oldest first.
std::vector<runtime::v1::PodSandbox> MatchingPods(const PodManager& pods,
                                                  const runtime::v1::PodSandboxFilter& f) {
  std::vector<runtime::v1::PodSandbox> out;
  for (const PodView& v : pods.List()) {
    if (!f.id().empty() && !v.id.starts_with(f.id())) continue;
    if (f.has_state() && ToCri(v.state) != f.state().state()) continue;
    if (!MatchesLabels(v, f.label_selector())) continue;
    runtime::v1::PodSandbox& p = out.emplace_back();
    p.set_id(v.id);
    *p.mutable_metadata() = v.config.metadata();
    p.set_state(ToCri(v.state));
    p.set_created_at(v.created_at_unix_nano);
    *p.mutable_labels() = v.config.labels();
    *p.mutable_annotations() = v.config.annotations();
    p.set_runtime_handler(v.runtime_handler);
  }
  return out;
}

// ListPodSandboxStats and StreamPodSandboxStats: the stats of the ready pods matching `f`.
std::vector<runtime::v1::PodSandboxStats> MatchingPodStats(
    const PodManager& pods, const runtime::v1::PodSandboxStatsFilter& f) {
  std::vector<runtime::v1::PodSandboxStats> out;
  for (const PodView& v : pods.List()) {
    if (!f.id().empty() && !v.id.starts_with(f.id())) continue;
    if (!MatchesLabels(v, f.label_selector())) continue;
    // Stats of ready pods only, as containerd: a stopped pod has nothing to account.
    if (v.state != PodState::kReady) continue;
    auto s = pods.Stats(v.id);
    if (!s.ok()) continue;  // removed meanwhile
    FillStats(v, *s, &out.emplace_back());
  }
  return out;
}

}  // namespace

grpc::Status RuntimeService::RunPodSandbox(grpc::ServerContext*,
                                           const runtime::v1::RunPodSandboxRequest* req,
                                           runtime::v1::RunPodSandboxResponse* resp) {
  if (pods_ == nullptr) return NoPods();
  auto id = pods_->Run(req->config(), req->runtime_handler());
  if (!id.ok()) return ToGrpcStatus(id.status());
  resp->set_pod_sandbox_id(*id);
  return grpc::Status::OK;
}

grpc::Status RuntimeService::StopPodSandbox(grpc::ServerContext*,
                                            const runtime::v1::StopPodSandboxRequest* req,
                                            runtime::v1::StopPodSandboxResponse*) {
  if (pods_ == nullptr) return NoPods();
  return ToGrpcStatus(pods_->Stop(req->pod_sandbox_id()));
}

grpc::Status RuntimeService::RemovePodSandbox(grpc::ServerContext*,
                                              const runtime::v1::RemovePodSandboxRequest* req,
                                              runtime::v1::RemovePodSandboxResponse*) {
  if (pods_ == nullptr) return NoPods();
  return ToGrpcStatus(pods_->Remove(req->pod_sandbox_id()));
}

grpc::Status RuntimeService::PodSandboxStatus(grpc::ServerContext*,
                                              const runtime::v1::PodSandboxStatusRequest* req,
                                              runtime::v1::PodSandboxStatusResponse* resp) {
  if (pods_ == nullptr) return NoPods();
  auto v = pods_->Get(req->pod_sandbox_id());
  if (!v.ok()) return ToGrpcStatus(v.status());
  auto* s = resp->mutable_status();
  s->set_id(v->id);
  *s->mutable_metadata() = v->config.metadata();
  s->set_state(ToCri(v->state));
  s->set_created_at(v->created_at_unix_nano);
  if (!v->host_network) {
    s->mutable_network()->set_ip(v->ip);
    for (const auto& ip : v->additional_ips) s->mutable_network()->add_additional_ips()->set_ip(ip);
  }
  *s->mutable_linux()->mutable_namespaces()->mutable_options() = NamespacesOf(*v);
  *s->mutable_labels() = v->config.labels();
  *s->mutable_annotations() = v->config.annotations();
  s->set_runtime_handler(v->runtime_handler);
  resp->set_timestamp(std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count());
  if (req->verbose()) (*resp->mutable_info())["info"] = VerboseInfo(*v).dump();
  return grpc::Status::OK;
}

grpc::Status RuntimeService::ListPodSandbox(grpc::ServerContext*,
                                            const runtime::v1::ListPodSandboxRequest* req,
                                            runtime::v1::ListPodSandboxResponse* resp) {
  if (pods_ == nullptr) return NoPods();
  for (auto& p : MatchingPods(*pods_, req->filter())) *resp->add_items() = std::move(p);
  return grpc::Status::OK;
}

grpc::Status RuntimeService::StreamPodSandboxes(
    grpc::ServerContext* ctx, const runtime::v1::StreamPodSandboxesRequest* req,
    grpc::ServerWriter<runtime::v1::StreamPodSandboxesResponse>* writer) {
  ListStreams::Guard open = list_streams_.Enter(ctx);
  if (!open.ok()) return ListStreamShuttingDown();
  if (pods_ == nullptr) return NoPods();
  return SendInBatches(ctx, writer, MatchingPods(*pods_, req->filter()),
                       &runtime::v1::StreamPodSandboxesResponse::mutable_pod_sandboxes);
}

grpc::Status RuntimeService::PodSandboxStats(grpc::ServerContext*,
                                             const runtime::v1::PodSandboxStatsRequest* req,
                                             runtime::v1::PodSandboxStatsResponse* resp) {
  if (pods_ == nullptr) return NoPods();
  auto v = pods_->Get(req->pod_sandbox_id());
  if (!v.ok()) return ToGrpcStatus(v.status());
  auto s = pods_->Stats(v->id);
  if (!s.ok()) return ToGrpcStatus(s.status());
  FillStats(*v, *s, resp->mutable_stats());
  return grpc::Status::OK;
}

grpc::Status RuntimeService::ListPodSandboxStats(grpc::ServerContext*,
                                                 const runtime::v1::ListPodSandboxStatsRequest* req,
                                                 runtime::v1::ListPodSandboxStatsResponse* resp) {
  if (pods_ == nullptr) return NoPods();
  for (auto& s : MatchingPodStats(*pods_, req->filter())) *resp->add_stats() = std::move(s);
  return grpc::Status::OK;
}

grpc::Status RuntimeService::StreamPodSandboxStats(
    grpc::ServerContext* ctx, const runtime::v1::StreamPodSandboxStatsRequest* req,
    grpc::ServerWriter<runtime::v1::StreamPodSandboxStatsResponse>* writer) {
  ListStreams::Guard open = list_streams_.Enter(ctx);
  if (!open.ok()) return ListStreamShuttingDown();
  if (pods_ == nullptr) return NoPods();
  return SendInBatches(ctx, writer, MatchingPodStats(*pods_, req->filter()),
                       &runtime::v1::StreamPodSandboxStatsResponse::mutable_pod_sandbox_stats);
}

grpc::Status RuntimeService::UpdatePodSandboxResources(
    grpc::ServerContext*, const runtime::v1::UpdatePodSandboxResourcesRequest* req,
    runtime::v1::UpdatePodSandboxResourcesResponse*) {
  if (pods_ == nullptr) return NoPods();
  if (req->pod_sandbox_id().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "pod_sandbox_id is required");
  }
  return ToGrpcStatus(pods_->UpdateResources(req->pod_sandbox_id(),
                                             req->has_overhead() ? &req->overhead() : nullptr,
                                             req->has_resources() ? &req->resources() : nullptr));
}

grpc::Status RuntimeService::UpdateRuntimeConfig(grpc::ServerContext*,
                                                 const runtime::v1::UpdateRuntimeConfigRequest* req,
                                                 runtime::v1::UpdateRuntimeConfigResponse*) {
  if (pods_ == nullptr) return NoPods();
  // kubelet sends "cidr[,cidr]" (dual stack); an empty value leaves the network config alone.
  const std::string& text = req->runtime_config().network_config().pod_cidr();
  if (text.empty()) return grpc::Status::OK;
  std::vector<std::string> cidrs;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    std::string c = text.substr(start, end - start);
    if (!c.empty()) {
      if (c.find('/') == std::string::npos || c.find_first_of(" \t\n") != std::string::npos) {
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            "runtime_config.network_config.pod_cidr: \"" + c +
                                "\" is not a CIDR (e.g. 10.88.0.0/16)");
      }
      cidrs.push_back(c);
    }
    start = end + 1;
  }
  pods_->SetPodCidrs(std::move(cidrs));
  return grpc::Status::OK;
}

}  // namespace berth
