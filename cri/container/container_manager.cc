// ContainerManager: opening, recovery, Create (and its rollback), exit events, subscriptions.
// The other RPCs are in container_manager_ops.cc.
#include "cri/container/container_manager.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "berth/plugin_abi.h"
#include "common/fs.h"
#include "cri/container/image_users.h"
#include "cri/container/image_volumes.h"
#include "cri/container/signals.h"
#include "cri/container/spec_builder.h"
#include "cri/container/user_resolver.h"
#include "plugins/runtime/shim_client/rootfs_mount.h"

namespace berth {
using namespace container;  // NOLINT(google-build-using-namespace): this library's own names

namespace fs = std::filesystem;
namespace cri = runtime::v1;

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {

std::string RandomId() {
  unsigned char buf[32];
  int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  size_t got = 0;
  while (fd >= 0 && got < sizeof(buf)) {
    ssize_t n = ::read(fd, buf + got, sizeof(buf) - got);
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  if (fd >= 0) ::close(fd);
  static const char* hex = "0123456789abcdef";
  std::string id;
  for (unsigned char c : buf) {
    id += hex[c >> 4];
    id += hex[c & 15];
  }
  return id;
}

std::string NameKey(const std::string& pod, const cri::ContainerMetadata& m) {
  return pod + "/" + m.name() + "/" + std::to_string(m.attempt());
}

int CapLastCap() {
  Result<std::string> t = ReadFile("/proc/sys/kernel/cap_last_cap");
  if (!t.ok()) return 40;
  try {
    return std::stoi(*t);
  } catch (...) {
    return 40;
  }
}

}  // namespace

ContainerManager::ContainerManager(ContainerManagerOptions options, const PluginHost& plugins,
                                   image::ImageManager& images, PodLookup pods, ExitForward forward,
                                   Logger logger)
    : options_(std::move(options)),
      plugins_(plugins),
      images_(images),
      pods_(std::move(pods)),
      forward_(std::move(forward)),
      logger_(std::move(logger)),
      store_(options_.root + "/containers") {}

Result<std::unique_ptr<ContainerManager>> ContainerManager::Open(
    ContainerManagerOptions options, const PluginHost& plugins, image::ImageManager& images,
    PodLookup pods, ExitForward forward, Logger logger) {
  std::unique_ptr<ContainerManager> m(new ContainerManager(
      std::move(options), plugins, images, std::move(pods), std::move(forward), std::move(logger)));
  BERTH_RETURN_IF_ERROR(m->store_.Init());
  BERTH_RETURN_IF_ERROR(MakeDirs(m->options_.state + "/containers", 0700).Wrap("container state"));
  std::vector<std::string> bad;
  for (ContainerRecord& r : m->store_.LoadAll(&bad)) {
    auto e = std::make_shared<Entry>();
    e->rec = std::move(r);
    if (e->rec.phase != ContainerPhase::kCreating)
      m->reserved_names_.insert(NameKey(e->rec.pod_id, e->rec.config.metadata()));
    m->entries_[e->rec.id] = e;
  }
  for (const std::string& id : bad)
    m->logger_.Error("unreadable container record skipped", {{"id", id}});
  m->exit_thread_ = std::thread([p = m.get()] { p->ExitLoop(); });
  return m;
}

ContainerManager::~ContainerManager() {
  {
    std::lock_guard lock(exit_mu_);
    stopping_ = true;
  }
  exit_cv_.notify_all();
  if (exit_thread_.joinable()) exit_thread_.join();
}

Result<RuntimeClient> ContainerManager::Runtime(const std::string& plugin) const {
  return RuntimeClient::Find(plugins_, plugin.empty() ? "native" : plugin);
}

std::shared_ptr<ContainerManager::Entry> ContainerManager::Find(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end() || it->second->removed) return nullptr;
  return it->second;
}

Status ContainerManager::Persist(const ContainerRecord& rec) { return store_.Put(rec); }

// ---- events ----

PluginHost::EventSink ContainerManager::EventSink() {
  return [this](std::string_view, std::string_view topic, std::string_view data) {
    if (topic != "/tasks/exit") return;
    plugin::v1::TaskExitEvent ev;
    if (!ev.ParseFromArray(data.data(), static_cast<int>(data.size()))) return;
    {
      std::lock_guard lock(exit_mu_);
      exit_queue_.push_back(std::move(ev));
    }
    exit_cv_.notify_one();
  };
}

void ContainerManager::ExitLoop() {
  for (;;) {
    plugin::v1::TaskExitEvent ev;
    {
      std::unique_lock lock(exit_mu_);
      exit_cv_.wait(lock, [&] { return stopping_ || !exit_queue_.empty(); });
      if (exit_queue_.empty()) return;
      ev = std::move(exit_queue_.front());
      exit_queue_.pop_front();
    }
    OnExit(ev);
  }
}

void ContainerManager::OnExit(const plugin::v1::TaskExitEvent& ev) {
  std::shared_ptr<Entry> e;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(ev.id());
    if (it != entries_.end()) e = it->second;
  }
  if (!e) {
    if (forward_) forward_(ev);
    return;
  }
  if (!ev.exec_id().empty()) {  // exec processes: ExecSync waits for them itself
    NotifyWaiters(ev);          // streaming execs through their waiter
    return;
  }
  ContainerRecord copy;
  {
    std::lock_guard lock(mu_);
    if (e->rec.phase == ContainerPhase::kExited || e->rec.phase == ContainerPhase::kCreating)
      return;
    e->rec.phase = ContainerPhase::kExited;
    e->rec.exit_code = ev.exit_status();
    e->rec.finished_at = ev.exited_at_unix_nano() ? ev.exited_at_unix_nano() : NowNanos();
    if (e->rec.started_at == 0) e->rec.started_at = e->rec.finished_at;
    e->rec.oom_killed = ev.oom_killed();
    copy = e->rec;
  }
  exited_cv_.notify_all();
  NotifyWaiters(ev);  // after the record says exited: a waiter's owner may look at it
  Status s = Persist(copy);
  if (!s.ok())
    logger_.Error("cannot record container exit", {{"id", copy.id}, {"error", s.message()}});
  logger_.Info("container exited",
               {{"id", copy.id}, {"exit_code", copy.exit_code}, {"oom", copy.oom_killed}});
  Publish(copy, cri::CONTAINER_STOPPED_EVENT);
}

ContainerManager::ExitWaiter::ExitWaiter() : event_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

bool ContainerManager::ExitWaiter::exited() const {
  std::lock_guard lock(mu_);
  return exited_;
}

int32_t ContainerManager::ExitWaiter::exit_status() const {
  std::lock_guard lock(mu_);
  return status_;
}

void ContainerManager::ExitWaiter::Fire(int32_t status) {
  {
    std::lock_guard lock(mu_);
    if (exited_) return;
    exited_ = true;
    status_ = status;
  }
  uint64_t one = 1;
  (void)!::write(event_.get(), &one, sizeof(one));
}

std::shared_ptr<ContainerManager::ExitWaiter> ContainerManager::ExpectExit(
    const std::string& id, const std::string& exec_id) {
  auto w = std::make_shared<ExitWaiter>();
  std::lock_guard lock(waiters_mu_);
  std::erase_if(exit_waiters_, [](const auto& kv) { return kv.second.expired(); });
  exit_waiters_.emplace(std::make_pair(id, exec_id), w);
  return w;
}

void ContainerManager::NotifyWaiters(const plugin::v1::TaskExitEvent& ev) {
  std::vector<std::shared_ptr<ExitWaiter>> fire;
  {
    std::lock_guard lock(waiters_mu_);
    auto [begin, end] = exit_waiters_.equal_range({ev.id(), ev.exec_id()});
    for (auto it = begin; it != end;) {
      if (auto w = it->second.lock()) fire.push_back(std::move(w));
      it = exit_waiters_.erase(it);
    }
  }
  for (auto& w : fire) w->Fire(ev.exit_status());
}

void ContainerManager::Publish(const ContainerRecord& rec, cri::ContainerEventType type) {
  ContainerEvent ev{rec.id, rec.pod_id, type, NowNanos()};
  std::vector<std::shared_ptr<Subscription>> subs;
  {
    std::lock_guard lock(mu_);
    subs = subscribers_;
  }
  for (auto& s : subs) {
    {
      std::lock_guard lock(s->mu);
      // A reader that stopped reading must not make berthd grow without bound.
      if (s->queue.size() >= 10000) s->queue.pop_front();
      s->queue.push_back(ev);
    }
    s->cv.notify_one();
  }
}

bool ContainerManager::Subscription::Next(ContainerEvent* ev, int timeout_ms) {
  std::unique_lock lock(mu);
  if (!cv.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                   [&] { return !queue.empty() || closed; }) ||
      queue.empty())
    return false;
  *ev = std::move(queue.front());
  queue.pop_front();
  return true;
}

bool ContainerManager::Subscription::Closed() {
  std::lock_guard lock(mu);
  return closed;
}

std::shared_ptr<ContainerManager::Subscription> ContainerManager::Subscribe() {
  auto s = std::make_shared<Subscription>();
  std::lock_guard lock(mu_);
  // A stream opened while the daemon shuts down ends at once.
  if (subscriptions_closed_) s->closed = true;
  subscribers_.push_back(s);
  return s;
}

void ContainerManager::CloseSubscriptions() {
  std::vector<std::shared_ptr<Subscription>> subs;
  {
    std::lock_guard lock(mu_);
    subscriptions_closed_ = true;
    subs = subscribers_;
  }
  for (auto& s : subs) {
    {
      std::lock_guard lock(s->mu);
      s->closed = true;
    }
    s->cv.notify_all();
  }
}

void ContainerManager::Unsubscribe(const std::shared_ptr<Subscription>& s) {
  std::lock_guard lock(mu_);
  std::erase(subscribers_, s);
}

// ---- create ----

void ContainerManager::Rollback(const ContainerRecord& rec, bool task_created) {
  if (task_created || rec.phase != ContainerPhase::kCreating) {
    if (Result<RuntimeClient> rt = Runtime(rec.runtime_plugin); rt.ok()) {
      (void)rt->Kill(rec.id, 9, true);
      Result<plugin::v1::DeleteTaskResponse> d = rt->Delete(rec.id);
      if (!d.ok() && d.status().code() != StatusCode::kNotFound)
        logger_.Warn("rollback: delete task", {{"id", rec.id}, {"error", d.status().message()}});
    }
  }
  // The runtime mounts <bundle>/rootfs before it launches the shim: a crash in between leaves
  // the mount with no task to delete. Unmount it before the snapshot goes and before the
  // bundle is removed (remove_all would descend into the mounted rootfs; found by
  // tests/integration/cri_crash_test). No-op when not mounted.
  if (!rec.bundle.empty()) (void)runtime_shim::UnmountRootfs(rec.bundle + "/rootfs");
  // Image volumes: mounts in the bundle, views in the snapshotter (image_volumes.h).
  {
    PluginHandle* h = plugins_.Find(BERTH_PLUGIN_TYPE_SNAPSHOTTER, rec.snapshotter);
    image::SnapshotterClient snap(h, rec.snapshotter);
    Status s = TearDownImageVolumes(rec.config, h ? &snap : nullptr, rec.id, rec.bundle);
    if (!s.ok()) logger_.Warn("rollback: image volumes", {{"id", rec.id}, {"error", s.message()}});
  }
  if (!rec.snapshot_key.empty()) {
    if (PluginHandle* h = plugins_.Find(BERTH_PLUGIN_TYPE_SNAPSHOTTER, rec.snapshotter)) {
      image::SnapshotterClient snap(h, rec.snapshotter);
      Status s = snap.Remove(rec.snapshot_key);
      if (!s.ok() && s.code() != StatusCode::kNotFound)
        logger_.Warn("rollback: remove snapshot", {{"id", rec.id}, {"error", s.message()}});
    }
  }
  if (!rec.bundle.empty()) {
    (void)runtime_shim::UnmountRootfs(rec.bundle + "/peek");
    std::error_code ec;
    fs::remove_all(rec.bundle, ec);
  }
  Status s = store_.Delete(rec.id);
  if (!s.ok()) logger_.Warn("rollback: remove record", {{"id", rec.id}, {"error", s.message()}});
}

Result<std::string> ContainerManager::Create(const std::string& pod_id,
                                             const cri::ContainerConfig& config) {
  if (pod_id.empty()) return InvalidArgument("pod_sandbox_id is required");
  Result<PodView> pod = pods_ ? pods_(pod_id) : Result<PodView>(Unavailable("no pod manager"));
  if (!pod.ok()) return pod.status();
  if (pod->state != PodState::kReady) {
    return FailedPrecondition("pod sandbox " + pod_id +
                              " is not ready (stopped); create a new one");
  }
  BERTH_RETURN_IF_ERROR(ValidateContainerConfig(config, *pod));
  const std::string key = NameKey(pod->id, config.metadata());
  {
    std::lock_guard lock(mu_);
    if (!reserved_names_.insert(key).second) {
      std::string owner;
      for (const auto& [id, e] : entries_)
        if (!e->removed && NameKey(e->rec.pod_id, e->rec.config.metadata()) == key) owner = id;
      return AlreadyExists("container name \"" + config.metadata().name() + "\" attempt " +
                           std::to_string(config.metadata().attempt()) + " already exists in pod " +
                           pod->id +
                           (owner.empty() ? " (being created now)" : " as container " + owner) +
                           "; remove it first or use another attempt");
    }
  }
  bool keep_name = false;
  struct Release {
    ContainerManager* m;
    const std::string& key;
    bool& keep;
    ~Release() {
      if (keep) return;
      std::lock_guard lock(m->mu_);
      m->reserved_names_.erase(key);
    }
  } release{this, key, keep_name};

  Result<std::optional<image::ImageRecord>> img = images_.Resolve(config.image().image());
  if (!img.ok()) return img.status();
  if (!*img) {
    return NotFound("image \"" + config.image().image() + "\" not found, pull it first");
  }
  const image::ImageRecord& image = **img;
  Result<std::string> parent = images_.RootfsParent(image);
  if (!parent.ok()) return parent.status();
  Result<image::SnapshotterClient> snapshotter = images_.Snapshotter();
  if (!snapshotter.ok()) return snapshotter.status();
  image::SnapshotterClient& snap = *snapshotter;
  // Image volumes' images must be pulled: NOT_FOUND now, before anything is made.
  Result<std::vector<ImageVolumeSource>> volumes = ResolveImageVolumes(config, images_);
  if (!volumes.ok()) return volumes.status();
  Result<RuntimeClient> rt = Runtime(pod->runtime_plugin);
  if (!rt.ok()) return rt.status();

  ContainerRecord rec;
  rec.id = RandomId();
  rec.pod_id = pod->id;
  rec.config = config;
  rec.phase = ContainerPhase::kCreating;
  rec.image_id = image.id;
  rec.runtime_plugin = rt->plugin_name();
  rec.snapshotter = snap.name();
  rec.snapshot_key = "ctr-" + rec.id;
  rec.bundle = options_.state + "/containers/" + rec.id;
  rec.created_at = NowNanos();
  rec.resources = config.linux().resources();
  if (!pod->log_directory.empty() && !config.log_path().empty())
    rec.log_path = pod->log_directory + "/" + config.log_path();
  Result<int> sig = config.stop_signal() != cri::RUNTIME_DEFAULT
                        ? SignalNumber(cri::Signal_Name(config.stop_signal()))
                    : image.config.stop_signal.empty() ? Result<int>(15)
                                                       : SignalNumber(image.config.stop_signal);
  rec.stop_signal = sig.ok() ? *sig : 15;
  // Durable first: a crash from here on is rolled back by Recover.
  BERTH_RETURN_IF_ERROR(Persist(rec));
  {
    auto e = std::make_shared<Entry>();
    e->rec = rec;
    std::lock_guard lock(mu_);
    entries_[rec.id] = e;
  }
  bool task_created = false;
  auto fail = [&](const Status& s) -> Status {
    Rollback(rec, task_created);
    std::lock_guard lock(mu_);
    entries_.erase(rec.id);
    return s;
  };

  if (Status s = MakeDirs(rec.bundle, 0700); !s.ok()) return fail(s.Wrap("bundle directory"));
  // stdin=true: a FIFO the shim reads for the container's whole life; attach sessions write
  // into it (container_streams.h). Root-only, inside the 0700 bundle.
  if (config.stdin() && ::mkfifo(StdinFifoPath(rec).c_str(), 0600) != 0)
    return fail(ErrnoStatus(errno, "create stdin fifo " + StdinFifoPath(rec)));
  Result<std::vector<plugin::v1::Mount>> mounts = snap.Prepare(rec.snapshot_key, *parent);
  if (!mounts.ok()) return fail(mounts.status().Wrap("prepare rootfs snapshot"));

  // Users and groups come from the image's own files.
  Result<ImageUserFiles> user_files = ReadImageUserFiles(*mounts, rec.bundle + "/peek");
  if (!user_files.ok()) return fail(user_files.status());
  Result<ResolvedUser> user = ResolveUser(config.linux().security_context(), image.config.user,
                                          user_files->passwd, user_files->group);
  if (!user.ok()) return fail(user.status());
  rec.uid = user->uid;
  rec.gid = user->gid;
  rec.additional_gids = user->additional_gids;

  Result<std::map<int, std::string>> volume_dirs =
      SetUpImageVolumes(*volumes, config, snap, rec.id, rec.bundle);
  if (!volume_dirs.ok()) return fail(volume_dirs.status());

  // Missing host paths of bind mounts are created as directories, as containerd does.
  for (const cri::Mount& m : config.mounts()) {
    if (m.host_path().empty()) continue;
    std::error_code ec;
    if (!fs::exists(m.host_path(), ec)) {
      Status s = MakeDirs(m.host_path(), 0755);
      if (!s.ok()) return fail(s.Wrap("create mount source " + m.host_path()));
    }
  }

  std::string target_pid;
  const auto& nsopt = config.linux().security_context().namespace_options();
  if (nsopt.pid() == cri::TARGET) {
    Result<std::string> tid = ResolveId(nsopt.target_id());
    if (!tid.ok()) return fail(tid.status().Wrap("pid namespace target"));
    std::shared_ptr<Entry> t = Find(*tid);
    uint32_t tpid = 0;
    if (t) {
      std::lock_guard lock(mu_);
      if (t->rec.phase == ContainerPhase::kRunning) tpid = t->rec.pid;
    }
    if (tpid == 0)
      return fail(FailedPrecondition("pid namespace target " + *tid + " is not running"));
    target_pid = "/proc/" + std::to_string(tpid) + "/ns/pid";
  }

  SpecInputs in;
  in.container_id = rec.id;
  in.config = &config;
  in.pod = &*pod;
  in.image = &image.config;
  in.user = *user;
  in.target_pid_ns_path = target_pid;
  in.cap_last_cap = CapLastCap();
  in.image_volume_sources = *volume_dirs;
  Result<BuiltSpec> spec = BuildSpec(in);
  if (!spec.ok()) return fail(spec.status());
  for (const std::string& w : spec->warnings) logger_.Warn(w, {{"id", rec.id}});
  Status ws = AtomicWriteFile(rec.bundle + "/config.json", spec->spec.dump(), 0600);
  if (!ws.ok()) return fail(ws.Wrap("write bundle"));
  if (!rec.log_path.empty()) {
    Status ls = MakeDirs(fs::path(rec.log_path).parent_path(), 0755);
    if (!ls.ok()) return fail(ls.Wrap("create log directory"));
  }

  plugin::v1::CreateTaskRequest req;
  req.set_id(rec.id);
  req.set_bundle(rec.bundle);
  for (const auto& m : *mounts) *req.add_rootfs() = m;
  req.mutable_io()->set_log_path(rec.log_path);
  req.mutable_io()->set_terminal(config.tty());
  if (config.stdin()) req.mutable_io()->set_stdin(StdinFifoPath(rec));
  (*req.mutable_annotations())["io.kubernetes.cri.sandbox-id"] = pod->id;
  task_created = true;  // a failed Create may still leave a shim behind: always delete
  Result<plugin::v1::CreateTaskResponse> created = rt->Create(req);
  if (!created.ok()) return fail(created.status().Wrap("create task"));
  rec.pid = created->pid();
  rec.phase = ContainerPhase::kCreated;
  Status ps = Persist(rec);
  if (!ps.ok()) return fail(ps);
  {
    std::lock_guard lock(mu_);
    entries_[rec.id]->rec = rec;
  }
  keep_name = true;
  logger_.Info("container created",
               {{"id", rec.id}, {"pod", rec.pod_id}, {"name", config.metadata().name()}});
  Publish(rec, cri::CONTAINER_CREATED_EVENT);
  return rec.id;
}

// ---- recovery ----

void ContainerManager::Recover() {
  std::vector<std::shared_ptr<Entry>> all;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, e] : entries_) all.push_back(e);
  }
  for (const auto& e : all) {
    ContainerRecord rec;
    {
      std::lock_guard lock(mu_);
      rec = e->rec;
    }
    if (rec.phase == ContainerPhase::kCreating) {
      logger_.Info("rolling back a container whose create was interrupted", {{"id", rec.id}});
      // The runtime only acts on tasks it created or reconnected to: reconnect first, so that
      // a shim started just before the crash is killed and deleted too (without this it, its
      // rootfs mount and the bundle leaked; found by tests/integration/cri_crash_test).
      if (Result<RuntimeClient> rt = Runtime(rec.runtime_plugin); rt.ok()) {
        (void)rt->Connect(rec.id);
      }
      Rollback(rec, true);
      std::lock_guard lock(mu_);
      entries_.erase(rec.id);
      continue;
    }
    Result<RuntimeClient> rt = Runtime(rec.runtime_plugin);
    if (!rt.ok()) {
      logger_.Error("cannot reconnect container",
                    {{"id", rec.id}, {"error", rt.status().message()}});
      continue;
    }
    Result<plugin::v1::ConnectTaskResponse> c = rt->Connect(rec.id);
    if (!c.ok()) {
      // No task at all (deleted already, or never started its shim): keep what we know.
      if (rec.phase != ContainerPhase::kExited) {
        std::lock_guard lock(mu_);
        e->rec.phase = ContainerPhase::kExited;
        e->rec.exit_code = 255;
        e->rec.finished_at = NowNanos();
        e->rec.message = "task lost while berthd was down: " + c.status().message();
        rec = e->rec;
      }
      (void)Persist(rec);
      continue;
    }
    if (c->status() == plugin::v1::TASK_STATUS_STOPPED && rec.phase != ContainerPhase::kExited) {
      Result<plugin::v1::TaskStateResponse> st = rt->State(rec.id);
      std::lock_guard lock(mu_);
      e->rec.phase = ContainerPhase::kExited;
      e->rec.exit_code = st.ok() ? st->exit_status() : 255;
      e->rec.oom_killed = st.ok() && st->oom_killed();
      e->rec.finished_at =
          st.ok() && st->exited_at_unix_nano() ? st->exited_at_unix_nano() : NowNanos();
      if (e->rec.started_at == 0) e->rec.started_at = e->rec.finished_at;
      rec = e->rec;
    } else if (c->status() == plugin::v1::TASK_STATUS_RUNNING &&
               rec.phase == ContainerPhase::kCreated) {
      std::lock_guard lock(mu_);
      e->rec.phase = ContainerPhase::kRunning;
      if (e->rec.started_at == 0) e->rec.started_at = NowNanos();
      rec = e->rec;
    }
    Status s = Persist(rec);
    if (!s.ok())
      logger_.Error("cannot persist recovered container", {{"id", rec.id}, {"error", s.message()}});
    logger_.Info("container recovered", {{"id", rec.id}, {"state", PhaseName(rec.phase)}});
  }
}

}  // namespace berth
