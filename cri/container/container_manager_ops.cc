// ContainerManager: the RPCs on existing containers (start, stop, remove, list, status,
// update, reopen log, exec sync, stats) and what the pod manager calls (PodContainers).
#include <atomic>
#include <filesystem>

#include <google/protobuf/util/json_util.h>

#include "berth/plugin_abi.h"
#include "common/fs.h"
#include "cri/container/container_manager.h"
#include "cri/container/image_volumes.h"
#include "cri/container/signals.h"
#include "plugins/runtime/shim_client/rootfs_mount.h"

namespace berth {
using namespace container;  // NOLINT(google-build-using-namespace): this library's own names

namespace fs = std::filesystem;
namespace cri = runtime::v1;

int64_t NowNanos();

namespace {

cri::ContainerState CriState(ContainerPhase p) {
  switch (p) {
    case ContainerPhase::kCreated:
      return cri::CONTAINER_CREATED;
    case ContainerPhase::kRunning:
      return cri::CONTAINER_RUNNING;
    case ContainerPhase::kExited:
      return cri::CONTAINER_EXITED;
    default:
      return cri::CONTAINER_UNKNOWN;
  }
}

Status NotFoundId(const std::string& id) { return NotFound("container \"" + id + "\" not found"); }

plugin::v1::LinuxResources ToPluginResources(const cri::LinuxContainerResources& r) {
  plugin::v1::LinuxResources o;
  o.set_cpu_period(r.cpu_period());
  o.set_cpu_quota(r.cpu_quota());
  o.set_cpu_shares(r.cpu_shares());
  o.set_memory_limit_in_bytes(r.memory_limit_in_bytes());
  o.set_oom_score_adj(r.oom_score_adj());
  o.set_cpuset_cpus(r.cpuset_cpus());
  o.set_cpuset_mems(r.cpuset_mems());
  for (const auto& h : r.hugepage_limits())
    (*o.mutable_hugepage_limits())[h.page_size()] = h.limit();
  for (const auto& [k, v] : r.unified()) (*o.mutable_unified())[k] = v;
  o.set_memory_swap_limit_in_bytes(r.memory_swap_limit_in_bytes());
  return o;
}

}  // namespace

Result<std::string> ContainerManager::ResolveId(const std::string& id) const {
  if (id.empty()) return InvalidArgument("container_id is required");
  std::lock_guard lock(mu_);
  auto exact = entries_.find(id);
  if (exact != entries_.end() && !exact->second->removed &&
      exact->second->rec.phase != ContainerPhase::kCreating)
    return id;
  std::string found;
  for (auto it = entries_.lower_bound(id); it != entries_.end() && it->first.rfind(id, 0) == 0;
       ++it) {
    if (it->second->removed || it->second->rec.phase == ContainerPhase::kCreating) continue;
    if (!found.empty()) return InvalidArgument("container id prefix \"" + id + "\" is ambiguous");
    found = it->first;
  }
  if (found.empty()) return NotFoundId(id);
  return found;
}

cri::ContainerStatus ContainerManager::StatusOf(const ContainerRecord& r) const {
  cri::ContainerStatus s;
  s.set_id(r.id);
  *s.mutable_metadata() = r.config.metadata();
  s.set_state(CriState(r.phase));
  s.set_created_at(r.created_at);
  s.set_started_at(r.started_at);
  s.set_finished_at(r.finished_at);
  s.set_exit_code(r.exit_code);
  *s.mutable_image() = r.config.image();
  s.set_image_ref(r.image_id);
  s.set_image_id(r.image_id);
  if (r.phase == ContainerPhase::kExited) {
    s.set_reason(r.oom_killed ? "OOMKilled" : r.exit_code == 0 ? "Completed" : "Error");
    s.set_message(r.message);
  }
  *s.mutable_labels() = r.config.labels();
  *s.mutable_annotations() = r.config.annotations();
  for (const auto& m : r.config.mounts()) *s.add_mounts() = m;
  s.set_log_path(r.log_path);
  *s.mutable_resources()->mutable_linux() = r.resources;
  auto* u = s.mutable_user()->mutable_linux();
  u->set_uid(r.uid);
  u->set_gid(r.gid);
  for (uint32_t g : r.additional_gids) u->add_supplemental_groups(g);
  for (int v = cri::Signal_MIN + 1; v <= cri::Signal_MAX; ++v) {
    if (!cri::Signal_IsValid(v)) continue;
    Result<int> n = container::SignalNumber(cri::Signal_Name(static_cast<cri::Signal>(v)));
    if (n.ok() && *n == r.stop_signal) {
      s.set_stop_signal(static_cast<cri::Signal>(v));
      break;
    }
  }
  return s;
}

Result<std::shared_ptr<ContainerManager::Entry>> ContainerManager::Lookup(
    const std::string& id_or_prefix) const {
  Result<std::string> id = ResolveId(id_or_prefix);
  if (!id.ok()) return id.status();
  std::shared_ptr<Entry> e = Find(*id);
  if (!e) return NotFoundId(*id);
  return e;
}

ContainerRecord ContainerManager::Snapshot(const Entry& e) const {
  std::lock_guard lock(mu_);
  return e.rec;
}

Result<ContainerRecord> ContainerManager::RunningRecord(const std::string& id_or_prefix) const {
  Result<std::shared_ptr<Entry>> e = Lookup(id_or_prefix);
  if (!e.ok()) return e.status();
  ContainerRecord rec = Snapshot(**e);
  if (rec.phase != ContainerPhase::kRunning) {
    return FailedPrecondition("container " + rec.id + " is not running");
  }
  return rec;
}

Result<ContainerManager::StreamTarget> ContainerManager::RunningTarget(
    const std::string& id_or_prefix) const {
  Result<ContainerRecord> rec = RunningRecord(id_or_prefix);
  if (!rec.ok()) return rec.status();
  Result<RuntimeClient> rt = Runtime(rec->runtime_plugin);
  if (!rt.ok()) return rt.status();
  return StreamTarget{std::move(*rec), *rt};
}

Status ContainerManager::Start(const std::string& id_in) {
  Result<std::shared_ptr<Entry>> found = Lookup(id_in);
  if (!found.ok()) return found.status();
  std::shared_ptr<Entry> e = std::move(*found);
  std::lock_guard op(e->op);
  ContainerRecord rec;
  {
    std::lock_guard lock(mu_);
    if (e->removed) return NotFoundId(e->rec.id);
    if (e->rec.phase != ContainerPhase::kCreated) {
      return FailedPrecondition("container " + e->rec.id + " is " + PhaseName(e->rec.phase) +
                                ", only a created container can be started");
    }
    rec = e->rec;
  }
  Result<RuntimeClient> rt = Runtime(rec.runtime_plugin);
  if (!rt.ok()) return rt.status();
  // Taken before the call: a short-lived process can exit (and the shim stamp its exit) before
  // Start returns, and started_at must not come after finished_at.
  const int64_t start_requested = NowNanos();
  Result<uint32_t> pid = rt->Start(rec.id);
  if (!pid.ok()) {
    // A container that failed to start is reported exited with the reason, as containerd does.
    std::lock_guard lock(mu_);
    if (e->rec.phase != ContainerPhase::kExited) {
      e->rec.phase = ContainerPhase::kExited;
      e->rec.exit_code = 128;
      e->rec.finished_at = NowNanos();
      e->rec.message = pid.status().message();
    }
    rec = e->rec;
  } else {
    std::lock_guard lock(mu_);
    if (e->rec.started_at == 0 || e->rec.started_at > start_requested) {
      e->rec.started_at = start_requested;
    }
    e->rec.pid = *pid;
    // The exit may already have been recorded (a very short-lived process): keep it.
    if (e->rec.phase == ContainerPhase::kCreated) e->rec.phase = ContainerPhase::kRunning;
    rec = e->rec;
  }
  BERTH_RETURN_IF_ERROR(Persist(rec));
  if (!pid.ok()) return pid.status().Wrap("start container " + rec.id);
  Publish(rec, cri::CONTAINER_STARTED_EVENT);
  return OkStatus();
}

bool ContainerManager::WaitExited(const std::shared_ptr<Entry>& e, int64_t timeout_ms) {
  std::unique_lock lock(mu_);
  return exited_cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                             [&] { return e->rec.phase == ContainerPhase::kExited; });
}

Status ContainerManager::StopLocked(const std::shared_ptr<Entry>& e, int64_t timeout_s) {
  ContainerRecord rec;
  {
    std::lock_guard lock(mu_);
    rec = e->rec;
  }
  if (rec.phase == ContainerPhase::kExited) return OkStatus();
  Result<RuntimeClient> rt = Runtime(rec.runtime_plugin);
  if (!rt.ok()) return rt.status();
  if (rec.phase == ContainerPhase::kCreated) {
    // Never started: kill the parked init so the task is stopped and reported exited.
    (void)rt->Kill(rec.id, 9, true);
  } else if (timeout_s > 0) {
    Status s = rt->Kill(rec.id, static_cast<uint32_t>(rec.stop_signal), false);
    if (s.ok() && WaitExited(e, timeout_s * 1000)) return OkStatus();
  }
  Status k = rt->Kill(rec.id, 9, true);
  if (WaitExited(e, 10000)) return OkStatus();
  // No exit event: ask the runtime directly (the event may have been lost with a shim).
  Result<plugin::v1::TaskStateResponse> st = rt->State(rec.id);
  if (st.ok() && st->status() == plugin::v1::TASK_STATUS_STOPPED) {
    plugin::v1::TaskExitEvent ev;
    ev.set_id(rec.id);
    ev.set_exit_status(st->exit_status());
    ev.set_exited_at_unix_nano(st->exited_at_unix_nano());
    ev.set_oom_killed(st->oom_killed());
    OnExit(ev);
    return OkStatus();
  }
  if (!st.ok() && st.status().code() == StatusCode::kNotFound) {
    plugin::v1::TaskExitEvent ev;
    ev.set_id(rec.id);
    ev.set_exit_status(137);
    OnExit(ev);
    return OkStatus();
  }
  return Status(StatusCode::kDeadlineExceeded, "container " + rec.id +
                                                   " did not exit after SIGKILL" +
                                                   (k.ok() ? "" : " (kill: " + k.message() + ")"));
}

Status ContainerManager::Stop(const std::string& id_in, int64_t timeout_s) {
  Result<std::shared_ptr<Entry>> found = Lookup(id_in);
  if (!found.ok()) return found.status();
  std::shared_ptr<Entry> e = std::move(*found);
  std::lock_guard op(e->op);
  return StopLocked(e, timeout_s);
}

Status ContainerManager::Remove(const std::string& id_in) {
  Result<std::string> id = ResolveId(id_in);
  if (!id.ok()) {
    // Idempotent: removing an unknown container is not an error (CRI).
    return id.status().code() == StatusCode::kNotFound ? OkStatus() : id.status();
  }
  std::shared_ptr<Entry> e = Find(*id);
  if (!e) return OkStatus();
  std::lock_guard op(e->op);
  {
    std::lock_guard lock(mu_);
    if (e->removed) return OkStatus();
  }
  BERTH_RETURN_IF_ERROR(StopLocked(e, 0));
  ContainerRecord rec;
  {
    std::lock_guard lock(mu_);
    rec = e->rec;
  }
  Result<RuntimeClient> rt = Runtime(rec.runtime_plugin);
  if (!rt.ok()) return rt.status();
  Result<plugin::v1::DeleteTaskResponse> d = rt->Delete(rec.id);
  if (!d.ok() && d.status().code() != StatusCode::kNotFound)
    return d.status().Wrap("remove container " + rec.id + ": delete task");
  {
    // Image volumes (image_volumes.h) before the bundle they are mounted in.
    PluginHandle* h = plugins_.Find(BERTH_PLUGIN_TYPE_SNAPSHOTTER, rec.snapshotter);
    image::SnapshotterClient snap(h, rec.snapshotter);
    Status s = container::TearDownImageVolumes(rec.config, h ? &snap : nullptr, rec.id, rec.bundle);
    if (!s.ok()) return s.Wrap("remove container " + rec.id);
  }
  if (PluginHandle* h = plugins_.Find(BERTH_PLUGIN_TYPE_SNAPSHOTTER, rec.snapshotter)) {
    image::SnapshotterClient snap(h, rec.snapshotter);
    Status s = snap.Remove(rec.snapshot_key);
    if (!s.ok() && s.code() != StatusCode::kNotFound)
      return s.Wrap("remove container " + rec.id + ": remove snapshot");
  }
  std::error_code ec;
  fs::remove_all(rec.bundle, ec);
  BERTH_RETURN_IF_ERROR(store_.Delete(rec.id));
  {
    std::lock_guard lock(mu_);
    e->removed = true;
    entries_.erase(rec.id);
    // The name may be reused once the record is gone.
    reserved_names_.erase(rec.pod_id + "/" + rec.config.metadata().name() + "/" +
                          std::to_string(rec.config.metadata().attempt()));
  }
  logger_.Info("container removed", {{"id", rec.id}});
  Publish(rec, cri::CONTAINER_DELETED_EVENT);
  return OkStatus();
}

std::vector<cri::Container> ContainerManager::List(const cri::ContainerFilter& f) const {
  std::vector<cri::Container> out;
  std::lock_guard lock(mu_);
  for (const auto& [id, e] : entries_) {
    const ContainerRecord& r = e->rec;
    if (e->removed || r.phase == ContainerPhase::kCreating) continue;
    if (!f.id().empty() && id.rfind(f.id(), 0) != 0) continue;
    if (f.has_state() && f.state().state() != CriState(r.phase)) continue;
    if (!f.pod_sandbox_id().empty() && r.pod_id.rfind(f.pod_sandbox_id(), 0) != 0) continue;
    bool labels_ok = true;
    for (const auto& [k, v] : f.label_selector()) {
      auto it = r.config.labels().find(k);
      if (it == r.config.labels().end() || it->second != v) labels_ok = false;
    }
    if (!labels_ok) continue;
    cri::Container c;
    c.set_id(id);
    c.set_pod_sandbox_id(r.pod_id);
    *c.mutable_metadata() = r.config.metadata();
    *c.mutable_image() = r.config.image();
    c.set_image_ref(r.image_id);
    c.set_image_id(r.image_id);
    c.set_state(CriState(r.phase));
    c.set_created_at(r.created_at);
    *c.mutable_labels() = r.config.labels();
    *c.mutable_annotations() = r.config.annotations();
    out.push_back(std::move(c));
  }
  return out;
}

Result<cri::ContainerStatusResponse> ContainerManager::GetStatus(const std::string& id_in,
                                                                 bool verbose) const {
  Result<std::shared_ptr<Entry>> found = Lookup(id_in);
  if (!found.ok()) return found.status();
  std::shared_ptr<Entry> e = std::move(*found);
  ContainerRecord rec = Snapshot(*e);
  cri::ContainerStatusResponse resp;
  *resp.mutable_status() = StatusOf(rec);
  if (verbose) {
    nlohmann::json info = {{"sandboxID", rec.pod_id},
                           {"pid", rec.pid},
                           {"runtimePlugin", rec.runtime_plugin},
                           {"snapshotter", rec.snapshotter},
                           {"snapshotKey", rec.snapshot_key},
                           {"bundle", rec.bundle}};
    Result<std::string> spec = ReadFile(rec.bundle + "/config.json");
    if (spec.ok()) {
      nlohmann::json j = nlohmann::json::parse(*spec, nullptr, false);
      if (!j.is_discarded()) info["runtimeSpec"] = j;
    }
    std::string config;
    (void)google::protobuf::util::MessageToJsonString(rec.config, &config);
    info["config"] = nlohmann::json::parse(config, nullptr, false);
    (*resp.mutable_info())["info"] = info.dump();
  }
  return resp;
}

std::vector<cri::ContainerStatus> ContainerManager::PodStatuses(const std::string& pod_id) const {
  std::vector<cri::ContainerStatus> out;
  std::lock_guard lock(mu_);
  for (const auto& [id, e] : entries_)
    if (!e->removed && e->rec.pod_id == pod_id && e->rec.phase != ContainerPhase::kCreating)
      out.push_back(StatusOf(e->rec));
  return out;
}

Status ContainerManager::UpdateResources(const std::string& id_in,
                                         const cri::LinuxContainerResources& r) {
  Result<std::shared_ptr<Entry>> found = Lookup(id_in);
  if (!found.ok()) return found.status();
  std::shared_ptr<Entry> e = std::move(*found);
  std::lock_guard op(e->op);
  ContainerRecord rec;
  {
    std::lock_guard lock(mu_);
    rec = e->rec;
  }
  if (rec.phase == ContainerPhase::kCreated || rec.phase == ContainerPhase::kRunning) {
    Result<RuntimeClient> rt = Runtime(rec.runtime_plugin);
    if (!rt.ok()) return rt.status();
    plugin::v1::UpdateTaskRequest req;
    req.set_id(rec.id);
    *req.mutable_resources() = ToPluginResources(r);
    BERTH_RETURN_IF_ERROR(rt->Update(req).Wrap("update container " + rec.id));
  }
  // Zero fields mean "unchanged" (CRI): merge into what was applied.
  cri::LinuxContainerResources merged = rec.resources;
  if (r.cpu_period()) merged.set_cpu_period(r.cpu_period());
  if (r.cpu_quota()) merged.set_cpu_quota(r.cpu_quota());
  if (r.cpu_shares()) merged.set_cpu_shares(r.cpu_shares());
  if (r.memory_limit_in_bytes()) merged.set_memory_limit_in_bytes(r.memory_limit_in_bytes());
  if (r.oom_score_adj()) merged.set_oom_score_adj(r.oom_score_adj());
  if (!r.cpuset_cpus().empty()) merged.set_cpuset_cpus(r.cpuset_cpus());
  if (!r.cpuset_mems().empty()) merged.set_cpuset_mems(r.cpuset_mems());
  if (!r.hugepage_limits().empty()) *merged.mutable_hugepage_limits() = r.hugepage_limits();
  for (const auto& [k, v] : r.unified()) (*merged.mutable_unified())[k] = v;
  if (r.memory_swap_limit_in_bytes())
    merged.set_memory_swap_limit_in_bytes(r.memory_swap_limit_in_bytes());
  {
    std::lock_guard lock(mu_);
    e->rec.resources = merged;
    rec = e->rec;
  }
  return Persist(rec);
}

Status ContainerManager::ReopenLog(const std::string& id_in) {
  Result<ContainerRecord> running = RunningRecord(id_in);
  if (!running.ok()) return running.status();
  const ContainerRecord& rec = *running;
  Result<RuntimeClient> rt = Runtime(rec.runtime_plugin);
  if (!rt.ok()) return rt.status();
  Status s = rt->ReopenLog(rec.id);
  switch (s.code()) {
    case StatusCode::kOk:
      return OkStatus();
    case StatusCode::kUnimplemented:
      return Unimplemented("runtime plugin " + rec.runtime_plugin +
                           " cannot reopen container logs (" + s.message() + ")");
    case StatusCode::kNotFound:  // the task ended and was deleted since we looked
    case StatusCode::kFailedPrecondition:
      return FailedPrecondition("container " + rec.id + " is not running (" + s.message() + ")");
    default:
      return s.Wrap("reopen log of " + rec.id);
  }
}

Result<cri::ExecSyncResponse> ContainerManager::ExecSync(const std::string& id_in,
                                                         const std::vector<std::string>& cmd,
                                                         int64_t timeout_s) {
  if (cmd.empty()) return InvalidArgument("cmd is required");
  Result<ContainerRecord> running = RunningRecord(id_in);
  if (!running.ok()) return running.status();
  const ContainerRecord& rec = *running;
  Result<nlohmann::json> process = ExecProcess(rec, cmd, /*tty=*/false);
  if (!process.ok()) return process.status();
  Result<RuntimeClient> rt = Runtime(rec.runtime_plugin);
  if (!rt.ok()) return rt.status();
  static std::atomic<uint64_t> counter{0};
  plugin::v1::ExecProcessRequest req;
  req.set_id(rec.id);
  req.set_exec_id("sync-" + std::to_string(NowNanos()) + "-" + std::to_string(++counter));
  req.set_process_json(process->dump());
  req.set_sync(true);
  req.set_timeout_ms(timeout_s > 0 ? timeout_s * 1000 : 0);
  // Per stream, CRI's ExecSyncResponse cap: the runtime keeps the first 16 MiB of stdout and
  // of stderr and drops the rest while the command runs on, and the call succeeds
  // (CVE-2022-1708/CVE-2022-31030: exec output must not exhaust the runtime's memory). The
  // shim passes output on in chunks as it comes, so no buffer or frame holds more than that.
  constexpr uint64_t kExecSyncOutputLimit = 16 * 1024 * 1024;
  req.set_output_limit(kExecSyncOutputLimit);
  Result<plugin::v1::ExecProcessResponse> r = rt->Exec(req);
  if (!r.ok()) {
    if (r.status().code() == StatusCode::kDeadlineExceeded) {
      // kubelet turns DEADLINE_EXCEEDED into a probe timeout.
      std::string joined;
      for (const auto& c : cmd) joined += (joined.empty() ? "" : " ") + c;
      return Status(StatusCode::kDeadlineExceeded, "command \"" + joined + "\" timed out after " +
                                                       std::to_string(timeout_s) + "s");
    }
    return r.status().Wrap("exec in " + rec.id);
  }
  if (r->output_truncated()) {
    logger_.Debug("exec output over the cap was dropped",
                  {{"container", rec.id}, {"limit_bytes", kExecSyncOutputLimit}});
  }
  cri::ExecSyncResponse out;
  out.set_stdout(std::move(*r->mutable_stdout()));  // up to 2 x 16 MiB: no copies
  out.set_stderr(std::move(*r->mutable_stderr()));
  out.set_exit_code(r->exit_status());
  return out;
}

Result<cri::ContainerStats> ContainerManager::Stats(const std::string& id_in) const {
  Result<std::shared_ptr<Entry>> found = Lookup(id_in);
  if (!found.ok()) return found.status();
  std::shared_ptr<Entry> e = std::move(*found);
  ContainerRecord rec = Snapshot(*e);
  cri::ContainerStats s;
  auto* a = s.mutable_attributes();
  a->set_id(rec.id);
  *a->mutable_metadata() = rec.config.metadata();
  *a->mutable_labels() = rec.config.labels();
  *a->mutable_annotations() = rec.config.annotations();
  int64_t now = NowNanos();
  if (rec.phase == ContainerPhase::kRunning) {
    Result<RuntimeClient> rt = Runtime(rec.runtime_plugin);
    if (rt.ok()) {
      Result<plugin::v1::TaskStatsResponse> st = rt->Stats(rec.id);
      if (st.ok()) {
        int64_t ts = st->timestamp_unix_nano() ? st->timestamp_unix_nano() : now;
        s.mutable_cpu()->set_timestamp(ts);
        s.mutable_cpu()->mutable_usage_core_nano_seconds()->set_value(
            st->cpu_usage_core_nanoseconds());
        auto* m = s.mutable_memory();
        m->set_timestamp(ts);
        m->mutable_working_set_bytes()->set_value(st->memory_working_set_bytes());
        m->mutable_usage_bytes()->set_value(st->memory_usage_bytes());
        m->mutable_rss_bytes()->set_value(st->memory_rss_bytes());
        m->mutable_page_faults()->set_value(st->memory_page_faults());
        m->mutable_major_page_faults()->set_value(st->memory_major_page_faults());
      }
    }
  }
  if (PluginHandle* h = plugins_.Find(BERTH_PLUGIN_TYPE_SNAPSHOTTER, rec.snapshotter)) {
    image::SnapshotterClient snap(h, rec.snapshotter);
    Result<plugin::v1::SnapshotUsageResponse> u = snap.Usage(rec.snapshot_key);
    if (u.ok()) {
      auto* w = s.mutable_writable_layer();
      w->set_timestamp(now);
      w->mutable_fs_id()->set_mountpoint(options_.root);
      w->mutable_used_bytes()->set_value(u->size_bytes());
      w->mutable_inodes_used()->set_value(u->inodes());
    }
  }
  return s;
}

std::vector<cri::ContainerStats> ContainerManager::ListStats(
    const cri::ContainerStatsFilter& f) const {
  cri::ContainerFilter lf;
  lf.set_id(f.id());
  lf.set_pod_sandbox_id(f.pod_sandbox_id());
  *lf.mutable_label_selector() = f.label_selector();
  std::vector<cri::ContainerStats> out;
  for (const cri::Container& c : List(lf)) {
    Result<cri::ContainerStats> s = Stats(c.id());
    if (s.ok()) out.push_back(std::move(*s));
  }
  return out;
}

Status ContainerManager::StopPodContainers(const std::string& pod_id, int64_t timeout_s) {
  cri::ContainerFilter f;
  f.set_pod_sandbox_id(pod_id);
  for (const cri::Container& c : List(f)) {
    if (c.pod_sandbox_id() != pod_id) continue;
    Status s = Stop(c.id(), timeout_s);
    if (!s.ok() && s.code() != StatusCode::kNotFound) return s;
  }
  return OkStatus();
}

Status ContainerManager::RemovePodContainers(const std::string& pod_id) {
  cri::ContainerFilter f;
  f.set_pod_sandbox_id(pod_id);
  for (const cri::Container& c : List(f)) {
    if (c.pod_sandbox_id() != pod_id) continue;
    BERTH_RETURN_IF_ERROR(Remove(c.id()));
  }
  return OkStatus();
}

}  // namespace berth
