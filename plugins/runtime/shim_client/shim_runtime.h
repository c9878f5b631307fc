#pragma once
// ShimRuntime: the part of a runtime plugin (io.berth.runtime.v1) that supervises each task
// with its own berth-shim (shim/): launches shims, forwards calls to their sockets, turns exits
// (of the init and of execs) into "/tasks/exit" events, and reconnects after a restart. The
// `native` and `oci` plugins are this class plus the shim flags that pick how the shim creates
// the container (in-process, or through an OCI runtime binary).
//
// Config (a JSON object of strings; unknown keys are INVALID_ARGUMENT):
//   "shim_path":  the berth-shim executable. Default: the first that exists of
//                 <plugin dir>/../shim/berth-shim (build tree), <plugin dir>/../../../libexec/
//                 berth/berth-shim and <plugin dir>/../../../bin/berth-shim (installed).
//   "state_dir":  where task directories go (<state_dir>/tasks/<id>: shim.sock, shim.pid,
//                 exit.json, shim.log, task.json). Default: the host's state dir for this
//                 plugin, else /run/berth/runtime-<plugin name>.
//   "log_level":  the shims' log level (debug|info|warn|error), default info.
//   + the keys a subclass accepts (ConfigKey).
//
// Thread-safety: every method may run concurrently; `mu_` guards the task table, and shim
// calls happen outside it. One ExitWatcher thread per live process watched, joined on
// Delete/destruction; one AttachPump thread per attach session (see Attach).

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "berth/sdk/runtime.h"
#include "common/status.h"
#include "plugins/runtime/shim_client/attach_pump.h"
#include "plugins/runtime/shim_client/exit_watcher.h"

namespace berth::runtime_shim {

namespace pv1 = ::berth::plugin::v1;
using SdkStatus = ::berth::sdk::Status;

class ShimRuntime : public sdk::RuntimePlugin {
 public:
  explicit ShimRuntime(std::string name) : name_(std::move(name)) {}
  ~ShimRuntime() override;

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
  SdkStatus ResizePty(const pv1::ResizePtyRequest& req, pv1::ResizePtyResponse* resp) override;
  SdkStatus CloseIO(const pv1::CloseIORequest& req, pv1::CloseIOResponse* resp) override;
  // Starts an AttachPump (attach_pump.h) and returns; finished pumps of the task are joined
  // at the next Attach and all of them when the task is deleted.
  SdkStatus Attach(const pv1::AttachTaskRequest& req, pv1::AttachTaskResponse* resp) override;
  // The shim's reopen_log; FAILED_PRECONDITION once the shim is gone.
  SdkStatus ReopenLog(const pv1::ReopenLogRequest& req, pv1::ReopenLogResponse* resp) override;

 protected:
  struct Task {
    std::string id, dir, bundle, socket;
    bool rootfs_mounted = false;
    bool shim_gone = false;  // Connect found no shim: `gone_state` is final
    shim::v1::ProcessState gone_state;
    std::unique_ptr<ExitWatcher> watcher;
    std::map<std::string, std::unique_ptr<ExitWatcher>> exec_watchers;
    std::vector<std::unique_ptr<AttachPump>> attaches;
  };

  // Subclass hooks. ConfigKey: true when `key` is the subclass's (stored), false when unknown.
  virtual Result<bool> ConfigKey(const std::string& key, const std::string& value) = 0;
  virtual std::string KnownKeys() const = 0;
  // After the common keys are read (state_dir_ is set): defaults, checks.
  virtual Status Configure() { return OkStatus(); }
  // Flags added to every shim's command line (e.g. --runtime oci).
  virtual std::vector<std::string> ShimArgs() const { return {}; }
  // The shim is gone: remove what it would have removed (beyond the cgroup and the rootfs).
  virtual Status CleanupDeadContainer(const Task&) { return OkStatus(); }

  const std::string& state_dir() const { return state_dir_; }
  const std::string& name() const { return name_; }

 private:
  std::string TaskDir(const std::string& id) const { return state_dir_ + "/tasks/" + id; }
  // A copy of the task's fixed fields (no watcher); NOT_FOUND when unknown.
  Result<Task> Snapshot(const std::string& id);
  void Watch(Task& task);
  void WatchExec(const std::string& id, const std::string& exec_id);
  void PublishExit(const std::string& id, const shim::v1::ProcessState& st);
  Status CleanupDeadTask(const Task& task);

  std::string name_;
  std::string shim_path_, state_dir_, log_level_ = "info";
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<Task>> tasks_;
};

}  // namespace berth::runtime_shim
