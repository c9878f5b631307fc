#pragma once
// Typed calls to one io.berth.network.v1 plugin through the PluginHost (C ABI + protobuf
// payloads, api/proto/berth/plugin/v1/network.proto): connect a pod's network namespace
// (Setup), disconnect it (Teardown), ask whether the plugin can work at all (Status) and free
// allocations of pods that no longer exist (GC).
//
// Thread-safe as PluginHandle::Invoke is. Borrows the handle, which lives as long as the host.
// Errors are the plugin's status (code kept, message prefixed by the handle).

#include <string>
#include <vector>

#include "berth/plugin/v1/network.pb.h"
#include "common/status.h"
#include "cri/plugin_host/plugin_handle.h"

namespace berth {

class NetworkClient {
 public:
  explicit NetworkClient(const PluginHandle* handle) : handle_(handle) {}

  const std::string& plugin_name() const { return handle_->name(); }

  // Idempotent per pod (a repeat returns the same addresses).
  Result<plugin::v1::SetupNetworkResponse> Setup(const plugin::v1::SetupNetworkRequest& req) const;
  // Idempotent: a pod the plugin does not know (any more) is not an error.
  Status Teardown(const plugin::v1::TeardownNetworkRequest& req) const;
  Result<plugin::v1::NetworkStatusResponse> GetStatus() const;
  // Frees everything not belonging to `valid_pod_ids`; returns the ids it freed.
  Result<std::vector<std::string>> GC(const std::vector<std::string>& valid_pod_ids) const;

 private:
  const PluginHandle* handle_;
};

}  // namespace berth
