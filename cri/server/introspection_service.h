#pragma once
// berth.v1.Introspection: what berthd runs with (its plugins). Borrows the PluginHost, which
// must outlive the service; safe to call from any gRPC thread.

#include "cri/plugin_host/plugin_host.h"
#include "introspection.grpc.pb.h"

namespace berth {

class IntrospectionService final : public berth::v1::Introspection::Service {
 public:
  explicit IntrospectionService(const PluginHost& plugins) : plugins_(plugins) {}

  grpc::Status ListPlugins(grpc::ServerContext*, const berth::v1::ListPluginsRequest*,
                           berth::v1::ListPluginsResponse*) override;

 private:
  const PluginHost& plugins_;
};

}  // namespace berth
