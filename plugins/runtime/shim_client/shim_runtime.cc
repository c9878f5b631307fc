#include "plugins/runtime/shim_client/shim_runtime.h"

#include <dlfcn.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/fs.h"
#include "plugins/runtime/shim_client/rootfs_mount.h"
#include "plugins/runtime/shim_client/shim_client.h"
#include "plugins/runtime/shim_client/shim_launcher.h"
#include "shim/protocol/exit_record.h"

namespace berth::runtime_shim {
namespace {

namespace sv1 = ::berth::shim::v1;

SdkStatus ToSdk(const Status& s) {
  return SdkStatus(static_cast<sdk::Code>(s.code()), s.message());
}

pv1::TaskStatus ToTaskStatus(sv1::ProcessStatus s) {
  switch (s) {
    case sv1::PROCESS_STATUS_CREATED:
      return pv1::TASK_STATUS_CREATED;
    case sv1::PROCESS_STATUS_RUNNING:
      return pv1::TASK_STATUS_RUNNING;
    case sv1::PROCESS_STATUS_STOPPED:
      return pv1::TASK_STATUS_STOPPED;
    default:
      return pv1::TASK_STATUS_UNKNOWN;
  }
}

bool ValidId(const std::string& id) {
  if (id.empty() || id.size() > 64 || id == "." || id == "..") return false;
  for (char c : id) {
    if (!isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

std::string DefaultShimPath() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&DefaultShimPath), &info) == 0 || !info.dli_fname) return "";
  std::filesystem::path dir = std::filesystem::path(info.dli_fname).parent_path();
  for (const char* rel :
       {"../shim/berth-shim", "../../../libexec/berth/berth-shim", "../../../bin/berth-shim"}) {
    std::filesystem::path p = (dir / rel).lexically_normal();
    if (access(p.c_str(), X_OK) == 0) return p.string();
  }
  return "";
}

sv1::Request ShimRequest() {
  sv1::Request r;
  r.set_version(sv1::VERSION_1);
  return r;
}

}  // namespace

ShimRuntime::~ShimRuntime() {
  std::map<std::string, std::unique_ptr<Task>> tasks;
  {
    std::lock_guard<std::mutex> lock(mu_);
    tasks.swap(tasks_);
  }
  tasks.clear();  // joins the watchers outside the lock (their callbacks take it)
}

SdkStatus ShimRuntime::Init(std::string_view config_json) {
  nlohmann::json cfg = nlohmann::json::parse(config_json, nullptr, false);
  if (cfg.is_discarded() || !cfg.is_object())
    return sdk::InvalidArgument("config is not a JSON object");
  for (auto& [key, value] : cfg.items()) {
    if (!value.is_string())
      return sdk::InvalidArgument("config key \"" + key + "\" must be a string");
    if (key == "shim_path") {
      shim_path_ = value.get<std::string>();
    } else if (key == "state_dir") {
      state_dir_ = value.get<std::string>();
    } else if (key == "log_level") {
      log_level_ = value.get<std::string>();
    } else {
      Result<bool> known = ConfigKey(key, value.get<std::string>());
      if (!known.ok()) return ToSdk(known.status());
      if (!*known) {
        return sdk::InvalidArgument("unknown config key \"" + key +
                                    "\" (known: shim_path, state_dir, log_level" + KnownKeys() +
                                    ")");
      }
    }
  }
  if (shim_path_.empty()) shim_path_ = DefaultShimPath();
  if (shim_path_.empty() || access(shim_path_.c_str(), X_OK) != 0) {
    return sdk::Status(sdk::Code::kFailedPrecondition,
                       "berth-shim not found (set \"shim_path\"): " + shim_path_);
  }
  if (state_dir_.empty()) state_dir_ = std::string(host().state_dir());
  if (state_dir_.empty()) state_dir_ = "/run/berth/runtime-" + name_;
  Status s = MakeDirs(state_dir_ + "/tasks", 0700);
  if (!s.ok()) return ToSdk(s);
  s = Configure();
  if (!s.ok()) return ToSdk(s);
  host().Info(name_ + " runtime: shim " + shim_path_ + ", state " + state_dir_);
  return sdk::OkStatus();
}

Result<ShimRuntime::Task> ShimRuntime::Snapshot(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = tasks_.find(id);
  if (it == tasks_.end()) return NotFound("task \"" + id + "\" not found");
  Task copy;
  copy.id = it->second->id;
  copy.dir = it->second->dir;
  copy.bundle = it->second->bundle;
  copy.socket = it->second->socket;
  copy.rootfs_mounted = it->second->rootfs_mounted;
  copy.shim_gone = it->second->shim_gone;
  copy.gone_state = it->second->gone_state;
  return copy;
}

void ShimRuntime::PublishExit(const std::string& id, const sv1::ProcessState& st) {
  pv1::TaskExitEvent ev;
  ev.set_id(id);
  ev.set_exec_id(st.exec_id());
  ev.set_pid(st.pid());
  ev.set_exit_status(st.exit_status());
  ev.set_exited_at_unix_nano(st.exited_at_unix_nano());
  ev.set_oom_killed(st.oom_killed());
  SdkStatus s = host().PublishEvent(kTaskExitTopic, ev);
  if (!s.ok()) host().Warn("publish exit of " + id + ": " + s.message());
}

// Caller holds mu_.
void ShimRuntime::Watch(Task& task) {
  std::string id = task.id;
  task.watcher = std::make_unique<ExitWatcher>(
      task.socket, task.dir, "", [this, id](const sv1::ProcessState& st, bool recorded) {
        if (!recorded) host().Warn("shim of " + id + " died without recording an exit");
        PublishExit(id, st);
      });
}

// An exec'd process started: its exit becomes a TaskExitEvent with its exec_id.
void ShimRuntime::WatchExec(const std::string& id, const std::string& exec_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = tasks_.find(id);
  if (it == tasks_.end() || !it->second) return;
  it->second->exec_watchers[exec_id] = std::make_unique<ExitWatcher>(
      it->second->socket, it->second->dir, exec_id,
      [this, id](const sv1::ProcessState& st, bool) { PublishExit(id, st); });
}

SdkStatus ShimRuntime::Create(const pv1::CreateTaskRequest& req, pv1::CreateTaskResponse* resp) {
  if (!ValidId(req.id())) return sdk::InvalidArgument("invalid task id \"" + req.id() + "\"");
  if (req.bundle().empty() || req.bundle()[0] != '/') {
    return sdk::InvalidArgument("bundle must be an absolute path");
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (tasks_.count(req.id())) return sdk::AlreadyExists("task \"" + req.id() + "\" exists");
    tasks_[req.id()] = nullptr;  // reserve the id while we work outside the lock
  }
  auto task = std::make_unique<Task>();
  task->id = req.id();
  task->dir = TaskDir(req.id());
  task->bundle = req.bundle();
  task->socket = task->dir + "/shim.sock";
  auto fail = [&](const Status& s) {
    if (task->rootfs_mounted) (void)UnmountRootfs(task->bundle + "/rootfs");
    std::error_code ec;
    std::filesystem::remove_all(task->dir, ec);
    std::lock_guard<std::mutex> lock(mu_);
    tasks_.erase(req.id());
    return ToSdk(s);
  };
  std::error_code ec;
  std::filesystem::remove_all(task->dir, ec);  // a stale directory of a deleted task
  Status s = MakeDirs(task->dir, 0700);
  if (!s.ok()) return fail(s);
  s = MountRootfs(req.rootfs(), task->bundle + "/rootfs");
  if (!s.ok()) return fail(s);
  task->rootfs_mounted = !req.rootfs().empty();
  nlohmann::json record = {{"bundle", task->bundle}, {"rootfs_mounted", task->rootfs_mounted}};
  s = AtomicWriteFile(task->dir + "/task.json", record.dump(), 0600);
  if (!s.ok()) return fail(s);

  std::vector<std::string> args = {"--id",        req.id(),  "--bundle",    req.bundle(),
                                   "--state-dir", task->dir, "--log-level", log_level_};
  if (!req.io().log_path().empty()) {
    args.push_back("--log-path");
    args.push_back(req.io().log_path());
  }
  if (!req.io().stdin().empty()) {
    args.push_back("--stdin");
    args.push_back(req.io().stdin());
  }
  for (std::string& a : ShimArgs()) args.push_back(std::move(a));
  Result<LaunchedShim> shim = LaunchShim(shim_path_, args);
  if (!shim.ok()) return fail(shim.status().Wrap("create " + req.id()));
  resp->set_pid(static_cast<uint32_t>(shim->init_pid));
  resp->set_shim_socket(task->socket);
  std::lock_guard<std::mutex> lock(mu_);
  Watch(*task);
  tasks_[req.id()] = std::move(task);
  return sdk::OkStatus();
}

SdkStatus ShimRuntime::Start(const pv1::StartTaskRequest& req, pv1::StartTaskResponse* resp) {
  Result<Task> t = Snapshot(req.id());
  if (!t.ok()) return ToSdk(t.status());
  sv1::Request r = ShimRequest();
  r.mutable_start()->set_exec_id(req.exec_id());
  Result<sv1::Response> out = CallShim(t->socket, r);
  if (!out.ok()) return ToSdk(out.status().Wrap("start " + req.id()));
  resp->set_pid(out->start().pid());
  if (!req.exec_id().empty()) WatchExec(req.id(), req.exec_id());
  return sdk::OkStatus();
}

SdkStatus ShimRuntime::Kill(const pv1::KillTaskRequest& req, pv1::KillTaskResponse*) {
  Result<Task> t = Snapshot(req.id());
  if (!t.ok()) return ToSdk(t.status());
  if (t->shim_gone) return sdk::OkStatus();  // nothing left to signal
  sv1::Request r = ShimRequest();
  r.mutable_kill()->set_exec_id(req.exec_id());
  r.mutable_kill()->set_signal(req.signal() ? req.signal() : SIGTERM);
  r.mutable_kill()->set_all(req.all());
  Result<sv1::Response> out = CallShim(t->socket, r);
  if (!out.ok()) return ToSdk(out.status().Wrap("kill " + req.id()));
  return sdk::OkStatus();
}

SdkStatus ShimRuntime::State(const pv1::TaskStateRequest& req, pv1::TaskStateResponse* resp) {
  Result<Task> t = Snapshot(req.id());
  if (!t.ok()) return ToSdk(t.status());
  sv1::ProcessState st;
  if (t->shim_gone) {
    st = t->gone_state;
  } else {
    sv1::Request r = ShimRequest();
    r.mutable_state()->set_exec_id(req.exec_id());
    Result<sv1::Response> out = CallShim(t->socket, r);
    if (!out.ok()) return ToSdk(out.status().Wrap("state " + req.id()));
    st = out->state();
  }
  resp->set_id(req.id());
  resp->set_exec_id(req.exec_id());
  resp->set_status(ToTaskStatus(st.status()));
  resp->set_pid(st.pid());
  resp->set_exit_status(st.exit_status());
  resp->set_exited_at_unix_nano(st.exited_at_unix_nano());
  resp->set_oom_killed(st.oom_killed());
  resp->set_bundle(t->bundle);
  resp->set_shim_socket(t->shim_gone ? "" : t->socket);
  return sdk::OkStatus();
}

}  // namespace berth::runtime_shim
