#pragma once
// OciRuntime: the `oci` runtime plugin (io.berth.runtime.v1). The same berth-shim supervises
// each task, but the container is created by an OCI runtime binary (runc, crun): the shim runs
// `<runtime> create/start/exec/kill/update/delete` and stays the container's sub-reaper, log
// writer and exit recorder (shim --runtime oci). Everything else is ShimRuntime's.
//
// Config (besides ShimRuntime's shim_path, state_dir, log_level):
//   "runtime_path": the OCI runtime binary, a path or a name looked up in PATH. Default "runc".
//   "runtime_root": the runtime's state root (its --root). Default <state_dir>/root.

#include <string>
#include <vector>

#include "plugins/runtime/shim_client/shim_runtime.h"

namespace berth::oci_plugin {

class OciRuntime final : public runtime_shim::ShimRuntime {
 public:
  OciRuntime() : ShimRuntime("oci") {}

 protected:
  Result<bool> ConfigKey(const std::string& key, const std::string& value) override;
  std::string KnownKeys() const override { return ", runtime_path, runtime_root"; }
  Status Configure() override;
  std::vector<std::string> ShimArgs() const override;
  Status CleanupDeadContainer(const Task& task) override;

 private:
  std::string runtime_path_ = "runc", runtime_root_;
};

}  // namespace berth::oci_plugin
