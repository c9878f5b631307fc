#pragma once
// PodInfra: the infra container of a pod whose containers share one PID namespace (CRI
// NamespaceMode POD): the configured sandbox (pause) image, run through the pod's runtime plugin
// (so its runtime handler applies) as PID 1 of a new PID namespace that the pod's containers then
// join (/proc/<pid>/ns/pid). Pods without a shared PID namespace have no infra container: their
// namespaces are held by bind-mounted namespace files (pod_namespaces.h).
//
// Implemented by cri/container's InfraContainer (it shares the container machinery: image,
// snapshot, OCI spec, runtime task), borrowed by PodManager — an interface so that cri/pod does
// not depend on cri/container. Everything the infra container owns is named after the pod id, so
// Remove can undo a Start interrupted at any point, even by a crash, from the pod record alone.
//
// Thread-safety: every method may be called from any thread; calls for one pod are serialised by
// the caller (the pod manager's per-pod lock).

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "common/status.h"
#include "cri/pod/pod_view.h"

namespace berth {

// A running process, identified by pid + start time so that a recycled pid is never mistaken
// for it.
struct InfraProcess {
  pid_t pid = 0;
  uint64_t start_time = 0;  // /proc/<pid>/stat field 22 (clock ticks since boot)
};

class PodInfra {
 public:
  virtual ~PodInfra() = default;

  // Pulls the sandbox image when it is absent, then creates and starts the infra task of `pod`
  // (whose network/ipc/uts namespaces, files and cgroup exist). On error everything this call
  // made is removed again; errors keep the failing step's code (e.g. the pull's UNAVAILABLE or
  // NOT_FOUND) with the step named.
  virtual Result<InfraProcess> Start(const PodView& pod) = 0;
  // Kills the infra process (SIGKILL: as PID 1, its whole PID namespace dies with it) and waits
  // until its task has stopped. OK when there is no task.
  virtual Status Stop(const PodView& pod) = 0;
  // Deletes the task, its rootfs snapshot and bundle. Idempotent; OK when nothing exists.
  virtual Status Remove(const PodView& pod) = 0;
  // After a berthd restart: reconnects to the infra task; true when it is still running.
  virtual bool Reconnect(const PodView& pod) = 0;
};

// The start time of `pid` (0 when it is gone).
uint64_t ProcessStartTime(pid_t pid);

// True when the process is still the one that was started (not gone, not a zombie, same start).
bool InfraAlive(const InfraProcess& p);

}  // namespace berth
