#pragma once
// runtime.v1.RuntimeService: the CRI runtime RPCs.
//
// The RPCs are implemented in three files, by what they act on:
//   runtime_service.cc             Version, Status, RuntimeConfig, UpdateRuntimeConfig
//   runtime_service_pods.cc        pod sandbox RPCs (delegating to cri/pod's PodManager)
//   runtime_service_containers.cc  container RPCs (delegating to cri/container)
//   runtime_service_metrics.cc     ListMetricDescriptors, ListPodSandboxMetrics
//   runtime_service_streaming.cc   Exec, Attach, PortForward (URLs of cri/streaming's server)
// Each Stream* RPC (CRIListStreaming) sits next to its List* RPC and shares its code path;
// list_stream.h has the batching and the shutdown rules.
// An RPC not overridden here falls through to the generated base, which answers
// UNIMPLEMENTED (named by UnimplementedInterceptor). Handlers run on gRPC's thread pool
// concurrently; the objects borrowed here must outlive the service and be thread-safe.

#include <vector>

#include "api/cri.h"
#include "cri/daemon_config.h"
#include "cri/plugin_host/plugin_host.h"
#include "cri/runtime/runtime_handlers.h"
#include "cri/server/list_stream.h"

namespace berth {

class PodManager;
class ContainerManager;
namespace streaming {
class StreamingServer;
}

class RuntimeService final : public runtime::v1::RuntimeService::Service {
 public:
  // `pods` and `containers` may be null while berthd starts (their RPCs then answer
  // UNAVAILABLE); the daemon attaches them before serving.
  RuntimeService(const DaemonConfig& config, const PluginHost& plugins,
                 const RuntimeHandlers& handlers)
      : config_(config), plugins_(plugins), handlers_(handlers) {}
  void Attach(PodManager* pods, ContainerManager* containers) {
    pods_ = pods;
    containers_ = containers;
  }
  // The streaming server that Exec/Attach/PortForward hand out URLs of (null: UNAVAILABLE).
  void AttachStreaming(streaming::StreamingServer* streaming) { streaming_ = streaming; }
  // berthd's shutdown: ends the open Stream* list calls at once and refuses new ones
  // (UNAVAILABLE), so that they do not hold the gRPC server's shutdown (list_stream.h).
  void CloseStreams() { list_streams_.CloseAll(); }

  // ---- runtime_service.cc ----
  grpc::Status Version(grpc::ServerContext*, const runtime::v1::VersionRequest*,
                       runtime::v1::VersionResponse*) override;
  grpc::Status Status(grpc::ServerContext*, const runtime::v1::StatusRequest*,
                      runtime::v1::StatusResponse*) override;
  grpc::Status RuntimeConfig(grpc::ServerContext*, const runtime::v1::RuntimeConfigRequest*,
                             runtime::v1::RuntimeConfigResponse*) override;

  // ---- runtime_service_pods.cc ----
  // Pod sandboxes (cri/pod/pod_manager.h) and UpdateRuntimeConfig (the pod CIDR, handed to the
  // network plugin by the pod manager).
  grpc::Status RunPodSandbox(grpc::ServerContext*, const runtime::v1::RunPodSandboxRequest*,
                             runtime::v1::RunPodSandboxResponse*) override;
  grpc::Status StopPodSandbox(grpc::ServerContext*, const runtime::v1::StopPodSandboxRequest*,
                              runtime::v1::StopPodSandboxResponse*) override;
  grpc::Status RemovePodSandbox(grpc::ServerContext*, const runtime::v1::RemovePodSandboxRequest*,
                                runtime::v1::RemovePodSandboxResponse*) override;
  grpc::Status PodSandboxStatus(grpc::ServerContext*, const runtime::v1::PodSandboxStatusRequest*,
                                runtime::v1::PodSandboxStatusResponse*) override;
  grpc::Status ListPodSandbox(grpc::ServerContext*, const runtime::v1::ListPodSandboxRequest*,
                              runtime::v1::ListPodSandboxResponse*) override;
  grpc::Status StreamPodSandboxes(
      grpc::ServerContext*, const runtime::v1::StreamPodSandboxesRequest*,
      grpc::ServerWriter<runtime::v1::StreamPodSandboxesResponse>*) override;
  grpc::Status PodSandboxStats(grpc::ServerContext*, const runtime::v1::PodSandboxStatsRequest*,
                               runtime::v1::PodSandboxStatsResponse*) override;
  grpc::Status ListPodSandboxStats(grpc::ServerContext*,
                                   const runtime::v1::ListPodSandboxStatsRequest*,
                                   runtime::v1::ListPodSandboxStatsResponse*) override;
  grpc::Status StreamPodSandboxStats(
      grpc::ServerContext*, const runtime::v1::StreamPodSandboxStatsRequest*,
      grpc::ServerWriter<runtime::v1::StreamPodSandboxStatsResponse>*) override;
  // Records the pod-level overhead/resources the kubelet has applied (PodManager::UpdateResources).
  grpc::Status UpdatePodSandboxResources(grpc::ServerContext*,
                                         const runtime::v1::UpdatePodSandboxResourcesRequest*,
                                         runtime::v1::UpdatePodSandboxResourcesResponse*) override;
  grpc::Status UpdateRuntimeConfig(grpc::ServerContext*,
                                   const runtime::v1::UpdateRuntimeConfigRequest*,
                                   runtime::v1::UpdateRuntimeConfigResponse*) override;

  // ---- runtime_service_metrics.cc ----
  grpc::Status ListMetricDescriptors(grpc::ServerContext*,
                                     const runtime::v1::ListMetricDescriptorsRequest*,
                                     runtime::v1::ListMetricDescriptorsResponse*) override;
  grpc::Status ListPodSandboxMetrics(grpc::ServerContext*,
                                     const runtime::v1::ListPodSandboxMetricsRequest*,
                                     runtime::v1::ListPodSandboxMetricsResponse*) override;
  grpc::Status StreamPodSandboxMetrics(
      grpc::ServerContext*, const runtime::v1::StreamPodSandboxMetricsRequest*,
      grpc::ServerWriter<runtime::v1::StreamPodSandboxMetricsResponse>*) override;

  // ---- runtime_service_containers.cc ----
  // Containers (cri/container/container_manager.h).
  grpc::Status CreateContainer(grpc::ServerContext*, const runtime::v1::CreateContainerRequest*,
                               runtime::v1::CreateContainerResponse*) override;
  grpc::Status StartContainer(grpc::ServerContext*, const runtime::v1::StartContainerRequest*,
                              runtime::v1::StartContainerResponse*) override;
  grpc::Status StopContainer(grpc::ServerContext*, const runtime::v1::StopContainerRequest*,
                             runtime::v1::StopContainerResponse*) override;
  grpc::Status RemoveContainer(grpc::ServerContext*, const runtime::v1::RemoveContainerRequest*,
                               runtime::v1::RemoveContainerResponse*) override;
  grpc::Status ListContainers(grpc::ServerContext*, const runtime::v1::ListContainersRequest*,
                              runtime::v1::ListContainersResponse*) override;
  grpc::Status StreamContainers(
      grpc::ServerContext*, const runtime::v1::StreamContainersRequest*,
      grpc::ServerWriter<runtime::v1::StreamContainersResponse>*) override;
  grpc::Status ContainerStatus(grpc::ServerContext*, const runtime::v1::ContainerStatusRequest*,
                               runtime::v1::ContainerStatusResponse*) override;
  grpc::Status UpdateContainerResources(grpc::ServerContext*,
                                        const runtime::v1::UpdateContainerResourcesRequest*,
                                        runtime::v1::UpdateContainerResourcesResponse*) override;
  grpc::Status ReopenContainerLog(grpc::ServerContext*,
                                  const runtime::v1::ReopenContainerLogRequest*,
                                  runtime::v1::ReopenContainerLogResponse*) override;
  grpc::Status ExecSync(grpc::ServerContext*, const runtime::v1::ExecSyncRequest*,
                        runtime::v1::ExecSyncResponse*) override;
  grpc::Status ContainerStats(grpc::ServerContext*, const runtime::v1::ContainerStatsRequest*,
                              runtime::v1::ContainerStatsResponse*) override;
  grpc::Status ListContainerStats(grpc::ServerContext*,
                                  const runtime::v1::ListContainerStatsRequest*,
                                  runtime::v1::ListContainerStatsResponse*) override;
  grpc::Status StreamContainerStats(
      grpc::ServerContext*, const runtime::v1::StreamContainerStatsRequest*,
      grpc::ServerWriter<runtime::v1::StreamContainerStatsResponse>*) override;
  grpc::Status CheckpointContainer(grpc::ServerContext*,
                                   const runtime::v1::CheckpointContainerRequest*,
                                   runtime::v1::CheckpointContainerResponse*) override;
  grpc::Status GetContainerEvents(
      grpc::ServerContext*, const runtime::v1::GetEventsRequest*,
      grpc::ServerWriter<runtime::v1::ContainerEventResponse>*) override;

  // ---- runtime_service_streaming.cc ----
  // Validated as kubelet's streaming server and containerd do, then a single-use URL.
  grpc::Status Exec(grpc::ServerContext*, const runtime::v1::ExecRequest*,
                    runtime::v1::ExecResponse*) override;
  grpc::Status Attach(grpc::ServerContext*, const runtime::v1::AttachRequest*,
                      runtime::v1::AttachResponse*) override;
  grpc::Status PortForward(grpc::ServerContext*, const runtime::v1::PortForwardRequest*,
                           runtime::v1::PortForwardResponse*) override;

 private:
  const DaemonConfig& config_;
  const PluginHost& plugins_;
  const RuntimeHandlers& handlers_;
  PodManager* pods_ = nullptr;
  ContainerManager* containers_ = nullptr;
  streaming::StreamingServer* streaming_ = nullptr;
  ListStreams list_streams_;
};

// The JSON list of plugins reported in Status' verbose info and by berth.v1.Introspection.
nlohmann::json PluginsToJson(const std::vector<PluginRecord>& plugins);

}  // namespace berth
