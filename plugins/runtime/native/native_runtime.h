#pragma once
// NativeRuntime: the `native` runtime plugin (io.berth.runtime.v1). Each task is supervised by
// its own berth-shim (shim/), which creates the container in-process with
// berth_native_runtime (plugins/runtime/native/lib). Everything else — launching shims,
// forwarding calls, exit events, reconnect — is ShimRuntime's (plugins/runtime/shim_client).
//
// Config: ShimRuntime's keys (shim_path, state_dir, log_level); no others.

#include "plugins/runtime/shim_client/shim_runtime.h"

namespace berth::native_plugin {

class NativeRuntime final : public runtime_shim::ShimRuntime {
 public:
  NativeRuntime() : ShimRuntime("native") {}

 protected:
  Result<bool> ConfigKey(const std::string&, const std::string&) override { return false; }
  std::string KnownKeys() const override { return ""; }
};

}  // namespace berth::native_plugin
