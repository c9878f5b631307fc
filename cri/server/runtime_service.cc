#include "cri/server/runtime_service.h"

#include <algorithm>

namespace berth {
namespace {

// The CRI API version berth speaks; kubelet compares the runtime_api_version against it.
constexpr char kCriApiVersion[] = "v1";
// Version.version is the version of the (historical) kubelet runtime API, "0.1.0" everywhere.
constexpr char kKubeletRuntimeApiVersion[] = "0.1.0";

bool HasUsablePlugin(const std::vector<PluginRecord>& plugins, std::string_view type) {
  return std::any_of(plugins.begin(), plugins.end(),
                     [&](const PluginRecord& p) { return p.type == type && p.status == "ok"; });
}

void AddCondition(runtime::v1::RuntimeStatus* status, const std::string& type, bool ready,
                  const std::string& reason, const std::string& message) {
  auto* c = status->add_conditions();
  c->set_type(type);
  c->set_status(ready);
  if (!ready) {
    c->set_reason(reason);
    c->set_message(message);
  }
}

}  // namespace

nlohmann::json PluginsToJson(const std::vector<PluginRecord>& plugins) {
  nlohmann::json out = nlohmann::json::array();
  for (const PluginRecord& p : plugins) {
    nlohmann::json j = {{"type", p.type}, {"name", p.name},     {"version", p.version},
                        {"path", p.path}, {"status", p.status}, {"requires", p.requirements}};
    if (!p.error.empty()) j["error"] = p.error;
    out.push_back(std::move(j));
  }
  return out;
}

grpc::Status RuntimeService::Version(grpc::ServerContext*, const runtime::v1::VersionRequest*,
                                     runtime::v1::VersionResponse* resp) {
  resp->set_version(kKubeletRuntimeApiVersion);
  resp->set_runtime_name("berth");
  resp->set_runtime_version(BERTH_VERSION);
  resp->set_runtime_api_version(kCriApiVersion);
  return grpc::Status::OK;
}

grpc::Status RuntimeService::Status(grpc::ServerContext*, const runtime::v1::StatusRequest* req,
                                    runtime::v1::StatusResponse* resp) {
  std::vector<PluginRecord> plugins = plugins_.List();
  auto* status = resp->mutable_status();
  // Condition types and reasons as kubelet reads them (RuntimeReady / NetworkReady).
  bool has_runtime = HasUsablePlugin(plugins, "io.berth.runtime.v1");
  // Containers need their image unpacked by the configured snapshotter, too.
  bool has_snapshotter = std::any_of(plugins.begin(), plugins.end(), [&](const PluginRecord& p) {
    return p.type == "io.berth.snapshotter.v1" && p.name == config_.snapshotter && p.status == "ok";
  });
  if (!has_runtime || has_snapshotter) {
    AddCondition(status, "RuntimeReady", has_runtime, "NoRuntimePlugin",
                 "no io.berth.runtime.v1 plugin is loaded (see berthctl plugins)");
  } else {
    AddCondition(status, "RuntimeReady", false, "NoSnapshotterPlugin",
                 "the configured snapshotter \"" + config_.snapshotter +
                     "\" (io.berth.snapshotter.v1) is not loaded, so images cannot be "
                     "unpacked (see berthctl plugins and the \"snapshotter\" config key)");
  }
  AddCondition(status, "NetworkReady", HasUsablePlugin(plugins, "io.berth.network.v1"),
               "NetworkPluginNotReady",
               "no io.berth.network.v1 plugin is loaded (see berthctl plugins)");
  // RuntimeClass handlers whose plugin is loaded (kubelet reads their features).
  for (const RuntimeHandler& h : handlers_.List()) {
    if (!plugins_.Find("io.berth.runtime.v1", h.plugin)) continue;
    auto* rh = resp->add_runtime_handlers();
    rh->set_name(h.name);
    // Neither recursive read-only mounts nor user namespaces are implemented yet.
    rh->mutable_features()->set_recursive_read_only_mounts(false);
    rh->mutable_features()->set_user_namespaces(false);
  }
  if (req->verbose()) {
    (*resp->mutable_info())["config"] = config_.ToJson().dump();
    (*resp->mutable_info())["plugins"] = PluginsToJson(plugins).dump();
  }
  return grpc::Status::OK;
}

grpc::Status RuntimeService::RuntimeConfig(grpc::ServerContext*,
                                           const runtime::v1::RuntimeConfigRequest*,
                                           runtime::v1::RuntimeConfigResponse* resp) {
  // berth manages cgroups through the filesystem (the cgroupfs driver), never through systemd;
  // kubelet must be configured with --cgroup-driver=cgroupfs to match.
  resp->mutable_linux()->set_cgroup_driver(runtime::v1::CgroupDriver::CGROUPFS);
  return grpc::Status::OK;
}

}  // namespace berth
