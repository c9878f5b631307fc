#pragma once
// PodContainers: what the pod manager needs from the container manager when a pod is stopped
// or removed (CRI: StopPodSandbox stops every container of the pod; RemovePodSandbox removes
// them). Implemented by cri/container's ContainerManager, borrowed by cri/pod's PodManager —
// an interface so that the two do not depend on each other's classes.
//
// Thread-safety: both methods may be called from any gRPC thread, concurrently with other
// container RPCs. Errors: a container that cannot be stopped/removed makes the call fail with
// that container's error (the pod operation then fails and can be retried); unknown pods are
// not an error (nothing to do).

#include <cstdint>
#include <string>

#include "common/status.h"

namespace berth {

class PodContainers {
 public:
  virtual ~PodContainers() = default;
  // Stops every running container of `pod_id` (stop signal, then SIGKILL after `timeout_s`).
  virtual Status StopPodContainers(const std::string& pod_id, int64_t timeout_s) = 0;
  // Removes every container of `pod_id` (stopping running ones first).
  virtual Status RemovePodContainers(const std::string& pod_id) = 0;
};

}  // namespace berth
