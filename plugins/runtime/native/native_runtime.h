#pragma once
// NativeRuntime: the `native` runtime plugin (io.berth.runtime.v1). Each task is supervised by
// its own berth-shim (shim/), which creates the container with berth_native_runtime; this
// class launches shims, forwards calls to their sockets and turns exits into "/tasks/exit"
// events.
//
// Config (a JSON object; unknown keys are INVALID_ARGUMENT):
//   "shim_path":  the berth-shim executable. Default: the first that exists of
//                 <plugin dir>/../shim/berth-shim (build tree), <plugin dir>/../../../libexec/
//                 berth/berth-shim and <plugin dir>/../../../bin/berth-shim (installed).
//   "state_dir":  where task directories go (<state_dir>/tasks/<id>: shim.sock, shim.pid,
//                 exit.json, shim.log, task.json). Default: the host's state dir for this
//                 plugin, else /run/berth/runtime-native.
//   "log_level":  the shims' log level (debug|info|warn|error), default info.
//
// Thread-safety: every method may run concurrently; `mu_` guards the task table, and shim
// calls happen outside it. One ExitWatcher thread per live task, joined on Delete/destruction.

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "berth/sdk/runtime.h"
#include "common/status.h"
#include "plugins/runtime/native/exit_watcher.h"

namespace berth::native_plugin {

namespace pv1 = ::berth::plugin::v1;
using SdkStatus = ::berth::sdk::Status;

class NativeRuntime final : public sdk::RuntimePlugin {
 public:
  NativeRuntime() = default;
  ~NativeRuntime() override;

  SdkStatus Init(std::string_view config_json) override;
  SdkStatus Create(const pv1::CreateTaskRequest& req, pv1::CreateTaskResponse* resp) override;
  SdkStatus Start(const pv1::StartTaskRequest& req, pv1::StartTaskResponse* resp) override;
  SdkStatus Kill(const pv1::KillTaskRequest& req, pv1::KillTaskResponse* resp) override;
  SdkStatus Delete(const pv1::DeleteTaskRequest& req, pv1::DeleteTaskResponse* resp) override;
  SdkStatus State(const pv1::TaskStateRequest& req, pv1::TaskStateResponse* resp) override;
  SdkStatus Exec(const pv1::ExecProcessRequest& req, pv1::ExecProcessResponse* resp) override;
  SdkStatus Stats(const pv1::TaskStatsRequest& req, pv1::TaskStatsResponse* resp) override;
  SdkStatus Update(const pv1::UpdateTaskRequest& req, pv1::UpdateTaskResponse* resp) override;
  SdkStatus Connect(const pv1::ConnectTaskRequest& req, pv1::ConnectTaskResponse* resp) override;

 private:
  struct Task {
    std::string id, dir, bundle, socket;
    bool rootfs_mounted = false;
    bool shim_gone = false;             // Connect found no shim: `gone_state` is final
    shim::v1::ProcessState gone_state;
    std::unique_ptr<ExitWatcher> watcher;
  };

  std::string TaskDir(const std::string& id) const { return state_dir_ + "/tasks/" + id; }
  // A copy of the task's fixed fields (no watcher); NOT_FOUND when unknown.
  Result<Task> Snapshot(const std::string& id);
  void Watch(Task& task);
  void PublishExit(const std::string& id, const shim::v1::ProcessState& st);
  Status CleanupDeadTask(const Task& task);

  std::string shim_path_, state_dir_, log_level_ = "info";
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<Task>> tasks_;
};

}  // namespace berth::native_plugin
