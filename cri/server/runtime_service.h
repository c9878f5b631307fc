#pragma once
// runtime.v1.RuntimeService: the CRI runtime RPCs.
//
// The RPCs are implemented in three files, by what they act on:
//   runtime_service.cc             Version, Status, RuntimeConfig, UpdateRuntimeConfig
//   runtime_service_pods.cc        pod sandbox RPCs (delegating to cri/pod's PodManager)
//   runtime_service_containers.cc  container RPCs (delegating to cri/container)
// An RPC not overridden here falls through to the generated base, which answers
// UNIMPLEMENTED (named by UnimplementedInterceptor). Handlers run on gRPC's thread pool
// concurrently; the objects borrowed here must outlive the service and be thread-safe.

#include "api/cri.h"
#include "cri/daemon_config.h"
#include "cri/plugin_host/plugin_host.h"
#include "cri/runtime/runtime_handlers.h"

namespace berth {

class PodManager;
class ContainerManager;

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

  // ---- runtime_service.cc ----
  grpc::Status Version(grpc::ServerContext*, const runtime::v1::VersionRequest*,
                       runtime::v1::VersionResponse*) override;
  grpc::Status Status(grpc::ServerContext*, const runtime::v1::StatusRequest*,
                      runtime::v1::StatusResponse*) override;
  grpc::Status RuntimeConfig(grpc::ServerContext*, const runtime::v1::RuntimeConfigRequest*,
                             runtime::v1::RuntimeConfigResponse*) override;

  // ---- runtime_service_pods.cc ----

  // ---- runtime_service_containers.cc ----

 private:
  const DaemonConfig& config_;
  const PluginHost& plugins_;
  const RuntimeHandlers& handlers_;
  PodManager* pods_ = nullptr;
  ContainerManager* containers_ = nullptr;
};

// The JSON list of plugins reported in Status' verbose info and by berth.v1.Introspection.
nlohmann::json PluginsToJson(const std::vector<PluginRecord>& plugins);

}  // namespace berth
