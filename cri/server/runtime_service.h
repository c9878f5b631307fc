#pragma once
// runtime.v1.RuntimeService: the CRI runtime RPCs.
//
// Today it answers Version, Status and RuntimeConfig; every other RPC falls through to the
// generated base, which answers UNIMPLEMENTED (named by UnimplementedInterceptor) until its
// issue lands. Handlers run on gRPC's thread pool concurrently; the objects borrowed here are
// read-only after startup and must outlive the service.

#include "api/cri.h"
#include "cri/daemon_config.h"
#include "cri/plugin_host/plugin_host.h"

namespace berth {

class RuntimeService final : public runtime::v1::RuntimeService::Service {
 public:
  RuntimeService(const DaemonConfig& config, const PluginHost& plugins)
      : config_(config), plugins_(plugins) {}

  grpc::Status Version(grpc::ServerContext*, const runtime::v1::VersionRequest*,
                       runtime::v1::VersionResponse*) override;
  grpc::Status Status(grpc::ServerContext*, const runtime::v1::StatusRequest*,
                      runtime::v1::StatusResponse*) override;
  grpc::Status RuntimeConfig(grpc::ServerContext*, const runtime::v1::RuntimeConfigRequest*,
                             runtime::v1::RuntimeConfigResponse*) override;

 private:
  const DaemonConfig& config_;
  const PluginHost& plugins_;
};

// The JSON list of plugins reported in Status' verbose info and by berth.v1.Introspection.
nlohmann::json PluginsToJson(const std::vector<PluginRecord>& plugins);

}  // namespace berth
