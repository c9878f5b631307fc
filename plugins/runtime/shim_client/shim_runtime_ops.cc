// ShimRuntime: Delete, Exec, Stats, Update, Connect, streaming and ReopenLog (the rest is in
// shim_runtime.cc).
#include <algorithm>
#include <climits>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "common/fs.h"
#include "plugins/runtime/native/lib/cgroup.h"
#include "plugins/runtime/native/lib/spec.h"
#include "plugins/runtime/shim_client/rootfs_mount.h"
#include "plugins/runtime/shim_client/shim_client.h"
#include "plugins/runtime/shim_client/shim_runtime.h"
#include "shim/protocol/exit_record.h"

namespace berth::runtime_shim {
namespace {

namespace sv1 = ::berth::shim::v1;

// ExecSync's output cap per stream when the request has none (CRI's ExecSyncResponse: 16 MiB).
constexpr uint64_t kDefaultExecOutputLimit = 16u << 20;
// What we ask of a shim that predates chunked replies (it ignores chunked_output_limit): both
// streams must fit its one 4 MiB answer frame.
constexpr uint64_t kSingleFrameOutputLimit = 2u * 1024 * 1024 - 64 * 1024;

SdkStatus ToSdk(const Status& s) {
  return SdkStatus(static_cast<sdk::Code>(s.code()), s.message());
}

sv1::Request ShimRequest() {
  sv1::Request r;
  r.set_version(sv1::VERSION_1);
  return r;
}

// CRI-shaped resources → an OCI linux.resources object (only the fields that are set).
nlohmann::json ResourcesJson(const pv1::LinuxResources& r) {
  nlohmann::json out = nlohmann::json::object();
  if (r.memory_limit_in_bytes()) out["memory"]["limit"] = r.memory_limit_in_bytes();
  if (r.memory_swap_limit_in_bytes()) out["memory"]["swap"] = r.memory_swap_limit_in_bytes();
  if (r.cpu_shares()) out["cpu"]["shares"] = r.cpu_shares();
  if (r.cpu_quota()) out["cpu"]["quota"] = r.cpu_quota();
  if (r.cpu_period()) out["cpu"]["period"] = r.cpu_period();
  if (!r.cpuset_cpus().empty()) out["cpu"]["cpus"] = r.cpuset_cpus();
  if (!r.cpuset_mems().empty()) out["cpu"]["mems"] = r.cpuset_mems();
  for (const auto& [size, limit] : r.hugepage_limits()) {
    out["hugepageLimits"].push_back({{"pageSize", size}, {"limit", limit}});
  }
  return out;
}

}  // namespace

SdkStatus ShimRuntime::Delete(const pv1::DeleteTaskRequest& req, pv1::DeleteTaskResponse* resp) {
  Result<Task> t = Snapshot(req.id());
  if (!t.ok()) return ToSdk(t.status());
  sv1::ProcessState st = t->gone_state;
  if (!t->shim_gone) {
    sv1::Request r = ShimRequest();
    r.mutable_delete_()->set_exec_id(req.exec_id());
    // For the init, the shim exits after answering: wait for that (the connection closes), so
    // that it no longer touches the task directory we remove below.
    Result<sv1::Response> out =
        req.exec_id().empty() ? CallShimUntilClosed(t->socket, r) : CallShim(t->socket, r);
    if (!out.ok() && out.status().code() != StatusCode::kUnavailable) {
      return ToSdk(out.status().Wrap("delete " + req.id()));
    }
    if (out.ok()) {
      st = out->state();
    } else if (req.exec_id().empty()) {
      // The shim died since: its record, and the leftovers it did not clean.
      Result<shim::ExitRecord> rec = shim::ReadExitRecord(t->dir);
      st.set_exit_status(rec.ok() ? rec->exit_status : 255);
      if (rec.ok()) st.set_exited_at_unix_nano(rec->exited_at_unix_nano);
      (void)CleanupDeadTask(*t);
    }
  }
  resp->set_pid(st.pid());
  resp->set_exit_status(st.exit_status());
  resp->set_exited_at_unix_nano(st.exited_at_unix_nano());
  if (!req.exec_id().empty()) {
    std::unique_ptr<ExitWatcher> watcher;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = tasks_.find(req.id());
      if (it != tasks_.end() && it->second) {
        auto w = it->second->exec_watchers.find(req.exec_id());
        if (w != it->second->exec_watchers.end()) {
          watcher = std::move(w->second);
          it->second->exec_watchers.erase(w);
        }
      }
    }
    return sdk::OkStatus();  // `watcher` is joined here, outside the lock
  }

  std::unique_ptr<Task> task;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = tasks_.find(req.id());
    if (it != tasks_.end()) {
      task = std::move(it->second);
      tasks_.erase(it);
    }
  }
  if (task) task->watcher.reset();  // joined outside the lock
  if (t->rootfs_mounted) {
    Status s = UnmountRootfs(t->bundle + "/rootfs");
    if (!s.ok()) return ToSdk(s.Wrap("delete " + req.id()));
  }
  std::error_code ec;
  std::filesystem::remove_all(t->dir, ec);
  return sdk::OkStatus();
}

SdkStatus ShimRuntime::Exec(const pv1::ExecProcessRequest& req, pv1::ExecProcessResponse* resp) {
  Result<Task> t = Snapshot(req.id());
  if (!t.ok()) return ToSdk(t.status());
  sv1::Request r = ShimRequest();
  sv1::ExecRequest* e = r.mutable_exec();
  e->set_exec_id(req.exec_id());
  e->set_process_json(req.process_json());
  e->set_sync(req.sync());
  e->set_timeout_ms(req.timeout_ms());
  e->set_stdin_path(req.io().stdin());
  e->set_stdout_path(req.io().stdout());
  e->set_stderr_path(req.io().stderr());
  e->set_terminal(req.io().terminal());
  if (!req.sync()) {
    Result<sv1::Response> out = CallShim(t->socket, r, 60000);
    if (!out.ok()) return ToSdk(out.status().Wrap("exec in " + req.id()));
    return sdk::OkStatus();
  }
  // Sync: the shim streams the output while the process runs and drops what is over the
  // limit, so neither it nor we hold more than `limit` per stream.
  uint64_t limit = req.output_limit() ? req.output_limit() : kDefaultExecOutputLimit;
  e->set_chunked_output_limit(limit);
  e->set_output_limit(std::min(limit, kSingleFrameOutputLimit));
  std::string* streams[2] = {resp->mutable_stdout(), resp->mutable_stderr()};
  bool truncated = false;
  auto keep = [&](uint32_t stream, const std::string& data) {
    if (stream != 1 && stream != 2) return;
    std::string& to = *streams[stream - 1];
    // The shim keeps to the limit; holding to it here too costs nothing.
    size_t room = to.size() < limit ? static_cast<size_t>(limit - to.size()) : 0;
    if (data.size() > room) truncated = true;
    to.append(data, 0, std::min(room, data.size()));
  };
  // The shim enforces the exec's own timeout; ours only guards against a hung shim.
  int timeout = req.timeout_ms() > 0
                    ? static_cast<int>(std::min<int64_t>(req.timeout_ms(), INT_MAX - 30000) + 30000)
                    : -1;
  Result<sv1::Response> out = CallShimWithOutput(t->socket, r, timeout, keep);
  if (!out.ok()) return ToSdk(out.status().Wrap("exec in " + req.id()));
  // A shim without chunked replies answered with the output in this one frame.
  keep(1, out->exec_sync().stdout());
  keep(2, out->exec_sync().stderr());
  resp->set_exit_status(out->exec_sync().exit_status());
  resp->set_output_truncated(truncated || out->exec_sync().output_truncated());
  return sdk::OkStatus();
}

SdkStatus ShimRuntime::Stats(const pv1::TaskStatsRequest& req, pv1::TaskStatsResponse* resp) {
  Result<Task> t = Snapshot(req.id());
  if (!t.ok()) return ToSdk(t.status());
  sv1::Request r = ShimRequest();
  r.mutable_stats();
  Result<sv1::Response> out = CallShim(t->socket, r);
  if (!out.ok()) return ToSdk(out.status().Wrap("stats of " + req.id()));
  const sv1::StatsResponse& s = out->stats();
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  resp->set_timestamp_unix_nano(static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec);
  resp->set_cpu_usage_core_nanoseconds(s.cpu_usage_ns());
  resp->set_memory_working_set_bytes(s.memory_working_set());
  resp->set_memory_usage_bytes(s.memory_usage());
  resp->set_memory_rss_bytes(s.memory_rss());
  resp->set_pids(s.pids());
  return sdk::OkStatus();
}

SdkStatus ShimRuntime::Update(const pv1::UpdateTaskRequest& req, pv1::UpdateTaskResponse*) {
  Result<Task> t = Snapshot(req.id());
  if (!t.ok()) return ToSdk(t.status());
  sv1::Request r = ShimRequest();
  r.mutable_update()->set_resources_json(ResourcesJson(req.resources()).dump());
  Result<sv1::Response> out = CallShim(t->socket, r);
  if (!out.ok()) return ToSdk(out.status().Wrap("update " + req.id()));
  return sdk::OkStatus();
}

// The shim is gone: kill what is left in the container's cgroup, remove it, unmount the rootfs.
Status ShimRuntime::CleanupDeadTask(const Task& task) {
  Status result = CleanupDeadContainer(task);
  Result<native::OciSpec> spec = native::LoadSpec(task.bundle);
  if (spec.ok() && !spec->linux.cgroups_path.empty()) {
    native::CgroupConfig cfg;
    cfg.path = spec->linux.cgroups_path;
    Result<std::unique_ptr<native::Cgroup>> cg = native::MakeCgroup(cfg, Logger());
    if (cg.ok()) result = (*cg)->Destroy();
  }
  if (task.rootfs_mounted) {
    Status s = UnmountRootfs(task.bundle + "/rootfs");
    if (!s.ok()) result = s;
  }
  return result;
}

SdkStatus ShimRuntime::Connect(const pv1::ConnectTaskRequest& req, pv1::ConnectTaskResponse* resp) {
  Result<Task> known = Snapshot(req.id());
  Task task;
  if (known.ok()) {
    task = std::move(*known);
  } else {
    std::string dir = TaskDir(req.id());
    Result<std::string> text = ReadFile(dir + "/task.json");
    if (!text.ok()) return ToSdk(text.status().Wrap("connect " + req.id()));
    nlohmann::json rec = nlohmann::json::parse(*text, nullptr, false);
    if (rec.is_discarded() || !rec.is_object()) {
      return SdkStatus(sdk::Code::kDataLoss, "connect " + req.id() + ": task.json is corrupt");
    }
    task.id = req.id();
    task.dir = dir;
    task.bundle = rec.value("bundle", "");
    task.rootfs_mounted = rec.value("rootfs_mounted", false);
    task.socket = dir + "/shim.sock";
  }
  sv1::Request r = ShimRequest();
  r.mutable_state();
  Result<sv1::Response> out = CallShim(task.socket, r, 10000);
  if (!out.ok() && out.status().code() != StatusCode::kUnavailable) {
    return ToSdk(out.status().Wrap("connect " + req.id()));
  }
  bool alive = out.ok();
  if (alive) {
    resp->set_status(pv1::TASK_STATUS_UNKNOWN);
    const sv1::ProcessState& st = out->state();
    resp->set_status(st.status() == sv1::PROCESS_STATUS_RUNNING   ? pv1::TASK_STATUS_RUNNING
                     : st.status() == sv1::PROCESS_STATUS_CREATED ? pv1::TASK_STATUS_CREATED
                                                                  : pv1::TASK_STATUS_STOPPED);
    resp->set_pid(st.pid());
    resp->set_shim_socket(task.socket);
  } else {
    Result<shim::ExitRecord> rec = shim::ReadExitRecord(task.dir);
    task.shim_gone = true;
    task.gone_state.set_status(sv1::PROCESS_STATUS_STOPPED);
    task.gone_state.set_exit_status(rec.ok() ? rec->exit_status : 255);
    if (rec.ok()) {
      task.gone_state.set_pid(rec->pid);
      task.gone_state.set_signal(rec->signal);
      task.gone_state.set_exited_at_unix_nano(rec->exited_at_unix_nano);
      task.gone_state.set_oom_killed(rec->oom_killed);
    }
    Status s = CleanupDeadTask(task);
    if (!s.ok()) host().Warn("cleanup of " + req.id() + ": " + s.message());
    resp->set_status(pv1::TASK_STATUS_STOPPED);
    resp->set_pid(task.gone_state.pid());
  }
  std::unique_ptr<ExitWatcher> old;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto& slot = tasks_[req.id()];
    if (!slot) slot = std::make_unique<Task>();
    old = std::move(slot->watcher);
    std::unique_ptr<ExitWatcher> keep;
    slot->id = task.id;
    slot->dir = task.dir;
    slot->bundle = task.bundle;
    slot->socket = task.socket;
    slot->rootfs_mounted = task.rootfs_mounted;
    slot->shim_gone = task.shim_gone;
    slot->gone_state = task.gone_state;
    if (alive && !old) Watch(*slot);
    if (alive && old) slot->watcher = std::move(old);
  }
  old.reset();
  return sdk::OkStatus();
}

SdkStatus ShimRuntime::ResizePty(const pv1::ResizePtyRequest& req, pv1::ResizePtyResponse*) {
  Result<Task> t = Snapshot(req.id());
  if (!t.ok()) return ToSdk(t.status());
  if (t->shim_gone) return ToSdk(FailedPrecondition("task " + req.id() + " has exited"));
  if (req.width() == 0 || req.height() == 0 || req.width() > 0xffff || req.height() > 0xffff) {
    return sdk::InvalidArgument("terminal size " + std::to_string(req.width()) + "x" +
                                std::to_string(req.height()) + " is out of range");
  }
  sv1::Request r = ShimRequest();
  r.mutable_resize()->set_exec_id(req.exec_id());
  r.mutable_resize()->set_width(req.width());
  r.mutable_resize()->set_height(req.height());
  Result<sv1::Response> out = CallShim(t->socket, r);
  if (!out.ok()) return ToSdk(out.status().Wrap("resize " + req.id()));
  return sdk::OkStatus();
}

SdkStatus ShimRuntime::CloseIO(const pv1::CloseIORequest& req, pv1::CloseIOResponse*) {
  Result<Task> t = Snapshot(req.id());
  if (!t.ok()) return ToSdk(t.status());
  if (t->shim_gone) return sdk::OkStatus();  // nothing reads it any more
  sv1::Request r = ShimRequest();
  r.mutable_close_stdin()->set_exec_id(req.exec_id());
  Result<sv1::Response> out = CallShim(t->socket, r);
  if (!out.ok()) return ToSdk(out.status().Wrap("close stdin of " + req.id()));
  return sdk::OkStatus();
}

SdkStatus ShimRuntime::ReopenLog(const pv1::ReopenLogRequest& req, pv1::ReopenLogResponse*) {
  Result<Task> t = Snapshot(req.id());
  if (!t.ok()) return ToSdk(t.status());
  if (t->shim_gone) return ToSdk(FailedPrecondition("task " + req.id() + " has exited"));
  sv1::Request r = ShimRequest();
  r.mutable_reopen_log();
  Result<sv1::Response> out = CallShim(t->socket, r, 10000);
  if (!out.ok()) {
    // The shim left since (the container exited and was deleted): nothing writes the log.
    if (out.status().code() == StatusCode::kUnavailable) {
      return ToSdk(FailedPrecondition("task " + req.id() + " has exited (its shim is gone)"));
    }
    return ToSdk(out.status().Wrap("reopen log of " + req.id()));
  }
  return sdk::OkStatus();
}

SdkStatus ShimRuntime::Attach(const pv1::AttachTaskRequest& req, pv1::AttachTaskResponse*) {
  Result<Task> t = Snapshot(req.id());
  if (!t.ok()) return ToSdk(t.status());
  if (t->shim_gone) return ToSdk(FailedPrecondition("task " + req.id() + " has exited"));
  // The shim answers an attach only at its end: check the process first for a clear error.
  sv1::Request st = ShimRequest();
  st.mutable_state()->set_exec_id(req.exec_id());
  Result<sv1::Response> state = CallShim(t->socket, st);
  if (!state.ok()) return ToSdk(state.status().Wrap("attach to " + req.id()));
  Result<std::unique_ptr<AttachPump>> pump = AttachPump::Start(
      t->socket, req.exec_id(), req.io().stdout(), req.io().terminal() ? "" : req.io().stderr());
  if (!pump.ok()) return ToSdk(pump.status().Wrap("attach to " + req.id()));
  std::vector<std::unique_ptr<AttachPump>> finished;  // joined outside the lock
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = tasks_.find(req.id());
    if (it == tasks_.end() || !it->second) {
      return ToSdk(NotFound("task \"" + req.id() + "\" not found"));  // deleted meanwhile
    }
    auto& list = it->second->attaches;
    for (auto a = list.begin(); a != list.end();) {
      if ((*a)->done()) {
        finished.push_back(std::move(*a));
        a = list.erase(a);
      } else {
        ++a;
      }
    }
    list.push_back(std::move(*pump));
  }
  return sdk::OkStatus();
}

}  // namespace berth::runtime_shim
