// PodManager::UpdateResources: CRI UpdatePodSandboxResources.
//
// What the RPC is for (CRI proto; KEP-1287 "In-place Update of Pod Resources"): the kubelet
// resizes the pod-level cgroup itself and only then calls this, best effort (a failure is logged
// by the kubelet and the resize goes on), so that the runtime's copy of the PodSandboxConfig
// says what the pod now has. containerd records the values in its sandbox store and hands them
// to NRI plugins, nothing more; CRI-O answers "not implemented yet".
//
// berth therefore records them and writes no cgroup:
//  - With a kubelet, the pod cgroup is the kubelet's cgroup_parent, already resized; writing the
//    same limits again would race with the kubelet's own ordering of pod and container limit
//    changes (it grows the pod cgroup before the containers' and shrinks it after them).
//  - berth's default pod cgroup (/berth/<id>, no cgroup_parent) never gets pod-level limits at
//    RunPodSandbox either, from the very same config fields; applying them only on an update
//    would make a pod's limits depend on whether it was ever updated.
// berth has no NRI yet; when it does, this is where the update is forwarded.
//
// Replacement rule: the kubelet sends the pod's complete pod-level configuration each time
// (kuberuntime's generateUpdatePodSandboxResourcesRequest), so a message that is present
// replaces the stored one as a whole (a zero field is a value, e.g. "no memory limit", unlike
// UpdateContainerResources' "zero = unchanged"). Both fields are optional in the proto; an absent
// one says nothing (a pod without overhead), so it leaves what RunPodSandbox recorded.

#include "cri/pod/pod_manager.h"

namespace berth {
namespace {

// For the log: what changed, in a few words.
std::string Describe(const runtime::v1::LinuxContainerResources& r) {
  return "cpu_shares=" + std::to_string(r.cpu_shares()) +
         " cpu_quota=" + std::to_string(r.cpu_quota()) +
         " cpu_period=" + std::to_string(r.cpu_period()) +
         " memory_limit_in_bytes=" + std::to_string(r.memory_limit_in_bytes());
}

}  // namespace

Status PodManager::UpdateResources(const std::string& id_or_prefix,
                                   const runtime::v1::LinuxContainerResources* overhead,
                                   const runtime::v1::LinuxContainerResources* resources) {
  Status err;
  std::shared_ptr<Entry> entry = Find(id_or_prefix, &err);
  if (!entry) return err;
  // Stop and Remove write the record from a copy taken when they start: without their lock an
  // update made meanwhile would be lost when they save.
  std::lock_guard<std::mutex> op(entry->op_mu);
  std::lock_guard<std::mutex> l(mu_);
  if (entry->removed) return NotFound("pod sandbox \"" + id_or_prefix + "\" not found");
  // Saved under mu_ (as NoticeDeadInfraLocked does) so that no other writer of this record can
  // slip a different version onto disk between the change in memory and the write.
  PodRecord updated = entry->record;
  runtime::v1::LinuxPodSandboxConfig* linux = updated.view.config.mutable_linux();
  if (overhead != nullptr) *linux->mutable_overhead() = *overhead;
  if (resources != nullptr) *linux->mutable_resources() = *resources;
  BERTH_RETURN_IF_ERROR(Save(updated).Wrap("update resources of pod " + updated.view.id));
  entry->record = std::move(updated);
  const runtime::v1::LinuxPodSandboxConfig& now = entry->record.view.config.linux();
  logger_.Info("pod sandbox resources updated",
               {{"pod", entry->record.view.id},
                {"overhead", now.has_overhead() ? Describe(now.overhead()) : "none"},
                {"resources", now.has_resources() ? Describe(now.resources()) : "none"}});
  return OkStatus();
}

}  // namespace berth
