#pragma once
// ContainerManager: the CRI container RPCs end to end. A container is an rw snapshot of its
// image ("ctr-<id>"), an OCI bundle (<state>/containers/<id>/config.json from spec_builder), a
// task in the pod's runtime plugin, and a durable record (ContainerStore); each image volume
// adds a view snapshot mounted under the bundle (image_volumes.h).
//
// Create is all-or-nothing: the record is written in phase "creating" before anything else,
// and any failure (or a crash, found at the next Recover) removes the task, the snapshot, the
// bundle and the record. (pod, name, attempt) is reserved in memory at the start of Create, so
// a concurrent duplicate gets ALREADY_EXISTS at once, and released when Create ends.
//
// Exits: the runtime plugin's "/tasks/exit" events come in through EventSink() (the one sink
// of the PluginHost) and are queued to a worker thread, which records them durably (exit
// code, finished time, OOM); events for ids this manager does not know go to `forward` (the
// pod manager's infra processes).
//
// Thread-safety: every public method may be called concurrently from gRPC threads. `mu_`
// guards the table and records in memory; it is never held across a plugin call (the plugin
// may publish an event from inside that call). Operations on one container are serialised by
// its own op mutex.
// Errors: NOT_FOUND for unknown ids/pods/images, INVALID_ARGUMENT for bad requests,
// FAILED_PRECONDITION for a wrong state (start of a running container, pod not ready).

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "api/cri.h"
#include "berth/plugin/v1/runtime.pb.h"
#include "common/log.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "cri/container/container_store.h"
#include "cri/image/image_manager.h"
#include "cri/plugin_host/plugin_host.h"
#include "cri/pod/pod_containers.h"
#include "cri/pod/pod_view.h"
#include "cri/runtime/runtime_client.h"

namespace berth::container {

struct ContainerManagerOptions {
  std::string root;   // records: <root>/containers
  std::string state;  // bundles: <state>/containers
};

// One event of GetContainerEvents (the pod status is filled by the caller from its PodView).
struct ContainerEvent {
  std::string container_id;
  std::string pod_id;
  runtime::v1::ContainerEventType type;
  int64_t created_at = 0;
};

}  // namespace berth::container

namespace berth {

// In namespace berth (not berth::container) because RuntimeService forward-declares it there.
class ContainerManager final : public PodContainers {
 public:
  using PodLookup = std::function<Result<PodView>(const std::string& pod_id)>;
  using ExitForward = std::function<void(const plugin::v1::TaskExitEvent&)>;

  // Loads the records; makes no plugin call (see Recover). Borrows plugins and images, which
  // must outlive the manager.
  static Result<std::unique_ptr<ContainerManager>> Open(container::ContainerManagerOptions options,
                                                        const PluginHost& plugins,
                                                        image::ImageManager& images, PodLookup pods,
                                                        ExitForward forward, Logger logger);
  ~ContainerManager() override;

  // The PluginHost event sink (set it before Recover so no exit is missed).
  PluginHost::EventSink EventSink();
  // After a restart: rolls back "creating" records, reconnects to the tasks of the others and
  // records exits that happened while berthd was down. Logs problems; never fails as a whole.
  void Recover();

  Result<std::string> Create(const std::string& pod_id, const runtime::v1::ContainerConfig& config);
  Status Start(const std::string& id);
  Status Stop(const std::string& id, int64_t timeout_s);
  Status Remove(const std::string& id);
  std::vector<runtime::v1::Container> List(const runtime::v1::ContainerFilter& filter) const;
  Result<runtime::v1::ContainerStatusResponse> GetStatus(const std::string& id, bool verbose) const;
  Status UpdateResources(const std::string& id, const runtime::v1::LinuxContainerResources& r);
  Status ReopenLog(const std::string& id);
  Result<runtime::v1::ExecSyncResponse> ExecSync(const std::string& id,
                                                 const std::vector<std::string>& cmd,
                                                 int64_t timeout_s);
  Result<runtime::v1::ContainerStats> Stats(const std::string& id) const;
  std::vector<runtime::v1::ContainerStats> ListStats(
      const runtime::v1::ContainerStatsFilter& f) const;

  // Resolves a container id or unique prefix. NOT_FOUND when none, INVALID_ARGUMENT if ambiguous.
  Result<std::string> ResolveId(const std::string& id_or_prefix) const;
  // The statuses of a pod's containers (for events and pod status).
  std::vector<runtime::v1::ContainerStatus> PodStatuses(const std::string& pod_id) const;

  // GetContainerEvents: a subscriber receives every event after Subscribe until Unsubscribe.
  // Next waits up to `timeout_ms`; false on timeout, or at once when the subscription is
  // closed (Closed() then tells the stream to end).
  class Subscription {
   public:
    bool Next(container::ContainerEvent* ev, int timeout_ms);
    bool Closed();

   private:
    friend class ContainerManager;
    std::mutex mu;
    std::condition_variable cv;
    std::deque<container::ContainerEvent> queue;
    bool closed = false;  // guarded by mu
  };
  std::shared_ptr<Subscription> Subscribe();
  void Unsubscribe(const std::shared_ptr<Subscription>& s);
  // Daemon shutdown: closes every subscription (now and later ones), so open event streams
  // end at once instead of holding the gRPC server's shutdown until its grace period.
  void CloseSubscriptions();

  // ---- For streaming sessions (cri/container/container_streams.h) ----
  // A running container's record and its runtime plugin. NOT_FOUND, FAILED_PRECONDITION.
  struct StreamTarget {
    container::ContainerRecord rec;
    RuntimeClient runtime;
  };
  Result<StreamTarget> RunningTarget(const std::string& id_or_prefix) const;
  // The exit of one process, from its "/tasks/exit" event. fd() (an eventfd) turns readable
  // when it arrives, so a session can poll it together with its own fds.
  class ExitWaiter {
   public:
    ExitWaiter();
    int fd() const { return event_.get(); }
    bool exited() const;
    int32_t exit_status() const;  // valid once exited()

   private:
    friend class ContainerManager;
    void Fire(int32_t status);
    UniqueFd event_;
    mutable std::mutex mu_;
    bool exited_ = false;
    int32_t status_ = 0;
  };
  // Registers a waiter for the exit of (id, exec_id) ("" = the container's init). Register
  // before the process can exit (before starting an exec; before checking that a container
  // runs). Dropped from the registry once the caller releases it.
  std::shared_ptr<ExitWaiter> ExpectExit(const std::string& id, const std::string& exec_id);

  // PodContainers
  Status StopPodContainers(const std::string& pod_id, int64_t timeout_s) override;
  Status RemovePodContainers(const std::string& pod_id) override;

 private:
  using ContainerRecord = container::ContainerRecord;
  using ContainerPhase = container::ContainerPhase;
  using ContainerManagerOptions = container::ContainerManagerOptions;
  using ContainerEvent = container::ContainerEvent;

  struct Entry {
    ContainerRecord rec;   // guarded by mu_
    std::mutex op;         // serialises Start/Stop/Remove/Update on this container
    bool removed = false;  // guarded by mu_
  };

  ContainerManager(ContainerManagerOptions options, const PluginHost& plugins,
                   image::ImageManager& images, PodLookup pods, ExitForward forward, Logger logger);

  Result<RuntimeClient> Runtime(const std::string& plugin) const;
  std::shared_ptr<Entry> Find(const std::string& id) const;
  // ResolveId + Find: the entry of a container id or unique prefix, NOT_FOUND when gone.
  Result<std::shared_ptr<Entry>> Lookup(const std::string& id_or_prefix) const;
  // A copy of the entry's record, taken under mu_.
  ContainerRecord Snapshot(const Entry& e) const;
  // Lookup + Snapshot of a container that must be running (FAILED_PRECONDITION otherwise).
  Result<ContainerRecord> RunningRecord(const std::string& id_or_prefix) const;
  Status Persist(const ContainerRecord& rec);  // mu_ not held
  // Undo a (partial) create: task, snapshot, bundle, record. Best effort; logs failures.
  void Rollback(const ContainerRecord& rec, bool task_created);
  void Publish(const ContainerRecord& rec, runtime::v1::ContainerEventType type);
  void OnExit(const plugin::v1::TaskExitEvent& ev);
  void ExitLoop();
  runtime::v1::ContainerStatus StatusOf(const ContainerRecord& rec) const;
  // Waits until the container is exited (or timeout); true when exited.
  bool WaitExited(const std::shared_ptr<Entry>& e, int64_t timeout_ms);
  Status StopLocked(const std::shared_ptr<Entry>& e, int64_t timeout_s);

  ContainerManagerOptions options_;
  const PluginHost& plugins_;
  image::ImageManager& images_;
  PodLookup pods_;
  ExitForward forward_;
  Logger logger_;
  container::ContainerStore store_;

  mutable std::mutex mu_;
  std::condition_variable exited_cv_;                       // with mu_: a record became exited
  std::map<std::string, std::shared_ptr<Entry>> entries_;   // guarded by mu_
  std::set<std::string> reserved_names_;                    // "<pod>/<name>/<attempt>", guarded
  std::vector<std::shared_ptr<Subscription>> subscribers_;  // guarded by mu_
  bool subscriptions_closed_ = false;                       // guarded by mu_

  std::mutex waiters_mu_;
  std::multimap<std::pair<std::string, std::string>, std::weak_ptr<ExitWaiter>>
      exit_waiters_;  // (id, exec_id), guarded by waiters_mu_
  void NotifyWaiters(const plugin::v1::TaskExitEvent& ev);

  std::mutex exit_mu_;
  std::condition_variable exit_cv_;
  std::deque<plugin::v1::TaskExitEvent> exit_queue_;  // guarded by exit_mu_
  bool stopping_ = false;                             // guarded by exit_mu_
  std::thread exit_thread_;
};

}  // namespace berth
