#include "cri/server/introspection_service.h"

namespace berth {

grpc::Status IntrospectionService::ListPlugins(grpc::ServerContext*,
                                               const berth::v1::ListPluginsRequest* req,
                                               berth::v1::ListPluginsResponse* resp) {
  for (const PluginRecord& p : plugins_.List()) {
    if (!req->type().empty() && p.type != req->type()) continue;
    auto* out = resp->add_plugins();
    out->set_type(p.type);
    out->set_name(p.name);
    out->set_version(p.version);
    out->set_path(p.path);
    out->set_status(p.status);
    out->set_error(p.error);
    for (const auto& r : p.requirements) out->add_requirements(r);
  }
  return grpc::Status::OK;
}

}  // namespace berth
