#pragma once
// Runtime handlers (Kubernetes RuntimeClass): the CRI `runtime_handler` string of a pod picks
// the io.berth.runtime.v1 plugin that runs its containers.
//
// Built in: "" (the default handler, what pods without a RuntimeClass get) maps to
// config.default_runtime; "native" to the native plugin and "runc" to the oci plugin. The
// config's "runtime_handlers" object adds or overrides entries: {"<handler>": {"plugin":
// "<runtime plugin name>"}}. Immutable after construction; safe from any thread.

#include <string>
#include <vector>

#include "common/status.h"
#include "cri/daemon_config.h"

namespace berth {

struct RuntimeHandler {
  std::string name;    // as the CRI names it; "" for the default
  std::string plugin;  // the io.berth.runtime.v1 plugin's name
};

class RuntimeHandlers {
 public:
  // INVALID_ARGUMENT naming the key when an entry is malformed.
  static Result<RuntimeHandlers> FromConfig(const DaemonConfig& config);

  // NOT_FOUND with the list of known handlers when `handler` is not configured.
  Result<RuntimeHandler> Resolve(const std::string& handler) const;

  // Every handler, the default ("") first, then by name.
  const std::vector<RuntimeHandler>& List() const { return handlers_; }

 private:
  std::vector<RuntimeHandler> handlers_;
};

}  // namespace berth
