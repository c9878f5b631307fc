#pragma once
// Typed calls to one io.berth.runtime.v1 plugin through the PluginHost (C ABI + protobuf
// payloads, api/proto/berth/plugin/v1/runtime.proto). A task is identified by its id (the
// container id, or the pod id for a pod's infra process).
//
// Thread-safe as PluginHandle::Invoke is. Borrows the handle, which lives as long as the host.
// Errors are the plugin's status (code kept, message prefixed by the handle).

#include <string>

#include "berth/plugin/v1/runtime.pb.h"
#include "common/status.h"
#include "cri/plugin_host/plugin_handle.h"
#include "cri/plugin_host/plugin_host.h"

namespace berth {

class RuntimeClient {
 public:
  explicit RuntimeClient(const PluginHandle* handle) : handle_(handle) {}
  // The loaded io.berth.runtime.v1 plugin `plugin` of `host`; FAILED_PRECONDITION naming it
  // when it is not loaded.
  static Result<RuntimeClient> Find(const PluginHost& host, const std::string& plugin);

  const std::string& plugin_name() const { return handle_->name(); }

  Result<plugin::v1::CreateTaskResponse> Create(const plugin::v1::CreateTaskRequest& req) const;
  // Starts the init process (exec_id empty) or a created exec.
  Result<uint32_t> Start(const std::string& id, const std::string& exec_id = "") const;
  Status Kill(const std::string& id, uint32_t signal, bool all = false,
              const std::string& exec_id = "") const;
  Result<plugin::v1::DeleteTaskResponse> Delete(const std::string& id,
                                                const std::string& exec_id = "") const;
  Result<plugin::v1::TaskStateResponse> State(const std::string& id,
                                              const std::string& exec_id = "") const;
  Result<plugin::v1::ExecProcessResponse> Exec(const plugin::v1::ExecProcessRequest& req) const;
  Result<plugin::v1::TaskStatsResponse> Stats(const std::string& id) const;
  Status Update(const plugin::v1::UpdateTaskRequest& req) const;
  Result<plugin::v1::ConnectTaskResponse> Connect(const std::string& id) const;
  // Streaming: the terminal size of a process with a pty, closing its stdin, and copying its
  // live output into FIFOs (see runtime.proto: Attach returns at once).
  Status ResizePty(const std::string& id, const std::string& exec_id, uint32_t width,
                   uint32_t height) const;
  Status CloseIO(const std::string& id, const std::string& exec_id = "") const;
  Status Attach(const std::string& id, const std::string& exec_id,
                const plugin::v1::TaskIO& io) const;
  // Reopens the task's CRI log file (log rotation). UNIMPLEMENTED from a plugin without it.
  Status ReopenLog(const std::string& id) const;

 private:
  const PluginHandle* handle_;
};

}  // namespace berth
