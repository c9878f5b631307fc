#pragma once
// PodManager: berthd's pod sandboxes (CRI RunPodSandbox, StopPodSandbox, RemovePodSandbox,
// PodSandboxStatus, ListPodSandbox). A pod is a set of namespaces held open by bind-mounted
// namespace files (pod_namespaces.h), its files (pod_files.h), its cgroup (pod_cgroup.h) and its
// network from the network plugin. Only a pod whose containers share a PID namespace has an
// infra container (pod_infra.h), started before its network and stopped after it.
//
// Persistence and crashes: one record per pod (pod_record.h) under <root>/pods/<id>/, written
// "creating" before anything is made on the host. Open() undoes every pod still "creating"
// (network teardown, infra container, namespace and shm mounts, cgroups, state and record),
// removes state directories without a record, reconnects to infra containers and marks ready
// pods whose network namespace or infra process is gone (a reboot) NOTREADY. A failed Run leaves
// nothing behind either.
//
// Threads: every method may be called from any gRPC thread concurrently. One mutex guards the
// tables; operations on one pod (run/stop/remove) are serialised by that pod's own mutex, so a
// slow network setup of one pod does not block RPCs on others. A duplicate name is refused at
// once (ALREADY_EXISTS) even while the first Run is still in progress.
//
// Borrowed: the PluginHost (network plugins), RuntimeHandlers, the PodInfra and the PodContainers
// (both may be null: then pods sharing a PID namespace are refused) must outlive the manager.

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "api/cri.h"
#include "berth/plugin/v1/runtime.pb.h"
#include "common/log.h"
#include "common/status.h"
#include "cri/plugin_host/plugin_host.h"
#include "cri/pod/pod_cgroup.h"
#include "cri/pod/pod_containers.h"
#include "cri/pod/pod_infra.h"
#include "cri/pod/pod_record.h"
#include "cri/pod/pod_view.h"
#include "cri/runtime/runtime_handlers.h"

namespace berth {

struct PodManagerOptions {
  std::string root;            // berthd's persistent root: records in <root>/pods
  std::string state;           // berthd's runtime state: namespaces/files in <state>/pods
  std::string network_plugin;  // io.berth.network.v1 plugin for pods without host networking
  std::string cgroup_root = "/sys/fs/cgroup";
};

class PodManager {
 public:
  // Loads the records and reconciles them with the host (see above). Errors: the pods
  // directory cannot be created or read. A single unreadable record is logged and skipped.
  static Result<std::unique_ptr<PodManager>> Open(PodManagerOptions options,
                                                  const PluginHost& plugins,
                                                  const RuntimeHandlers& handlers, PodInfra* infra,
                                                  Logger logger);
  ~PodManager();

  // The container manager, once it exists; call before serving (not synchronised with RPCs).
  void SetContainers(PodContainers* containers) { containers_ = containers; }

  // Creates a pod; returns its id. INVALID_ARGUMENT for bad input, NOT_FOUND for an unknown
  // runtime handler, ALREADY_EXISTS for a (name, namespace, uid, attempt) in use,
  // FAILED_PRECONDITION when the network plugin is not loaded; otherwise the failing step's error,
  // with nothing left behind.
  Result<std::string> Run(const runtime::v1::PodSandboxConfig& config,
                          const std::string& runtime_handler);
  // Stops the pod's containers, tears its network down and releases its network namespace;
  // the pod becomes NOTREADY. Idempotent. NOT_FOUND for an unknown pod (CRI: kubelet treats it
  // as done).
  Status Stop(const std::string& id_or_prefix);
  // Stops the pod if needed, removes its containers and everything it has. Unknown pods are
  // OK (idempotent).
  Status Remove(const std::string& id_or_prefix);

  // A pod by id or unique id prefix. NOT_FOUND; INVALID_ARGUMENT for an ambiguous prefix.
  Result<PodView> Get(const std::string& id_or_prefix) const;
  // Every pod (ready or not), oldest first. Pods still being created are not listed.
  std::vector<PodView> List() const;

  // CRI UpdateRuntimeConfig: the node's pod CIDRs, handed to later network setups.
  void SetPodCidrs(std::vector<std::string> cidrs);
  std::vector<std::string> PodCidrs() const;

  // CRI UpdatePodSandboxResources (defined in pod_update.cc). The kubelet sends it after it has
  // resized the pod-level cgroup itself, to tell the runtime the pod's new overhead and resources
  // (the sum over its containers). Each one given replaces the pod's
  // PodSandboxConfig.linux.overhead/resources as a whole, durably in its record (so
  // PodSandboxStatus' verbose info and a restarted berthd see it); a null one leaves that value
  // as it was. No cgroup is written: pod-level limits are the kubelet's (see pod_update.cc).
  // Serialised with Stop/Remove of the pod. INVALID_ARGUMENT for an empty or ambiguous id,
  // NOT_FOUND for an unknown pod, the record write's error (nothing changed) otherwise.
  Status UpdateResources(const std::string& id_or_prefix,
                         const runtime::v1::LinuxContainerResources* overhead,
                         const runtime::v1::LinuxContainerResources* resources);

  // The pod cgroup's counters. NOT_FOUND for an unknown pod.
  Result<PodCgroupStats> Stats(const std::string& id_or_prefix) const;

  // Exit of a task the container manager does not know: a pod's infra container (task id = pod
  // id), whose pod becomes NOTREADY.
  void OnTaskExit(const plugin::v1::TaskExitEvent& event);

 private:
  struct Entry {
    std::mutex op_mu;  // serialises Stop/Remove of this pod
    PodRecord record;  // guarded by PodManager::mu_
    bool removed = false;
  };

  PodManager(PodManagerOptions options, const PluginHost& plugins, const RuntimeHandlers& handlers,
             PodInfra* infra, Logger logger);

  Status Recover();
  void CollectNetworkGarbage(const std::map<std::string, bool>& known_ids);
  std::vector<std::string> ExistingDefaultPodCgroup(const std::string& id) const;
  std::string RecordDir(const std::string& id) const;
  std::string StateDir(const std::string& id) const;
  Status Save(const PodRecord& record) const;
  std::shared_ptr<Entry> Find(const std::string& id_or_prefix, Status* error) const;

  Status Create(PodRecord& record);
  Status SetupNetwork(PodRecord& record);
  Status TeardownNetwork(PodRecord& record);
  Status StartInfra(PodRecord& record);
  Status StopInfra(PodRecord& record);
  Status RemoveInfra(PodRecord& record);
  Status StopLocked(Entry& entry);
  // Undoes everything a record says exists, in reverse order of creation, then removes the
  // state directory and the record. Each step is idempotent; on error the record is kept.
  Status Destroy(PodRecord& record);
  void Update(Entry& entry, const PodRecord& record);
  // A READY pod whose infra process died becomes NOTREADY, durably (also checked on reads: an
  // exit while berthd was not listening sends no event). mu_ held.
  void NoticeDeadInfraLocked(Entry& entry) const;

  PodManagerOptions options_;
  const PluginHost& plugins_;
  const RuntimeHandlers& handlers_;
  PodInfra* infra_;
  Logger logger_;
  PodContainers* containers_ = nullptr;

  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Entry>> pods_;  // by id
  std::map<std::string, std::string> names_;            // name key -> id (incl. creating)
  std::vector<std::string> pod_cidrs_;
};

}  // namespace berth
