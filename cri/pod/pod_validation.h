#pragma once
// Checks a RunPodSandbox request before anything is created, so that bad input is answered
// with INVALID_ARGUMENT (or UNIMPLEMENTED for what berth does not support) and a message
// naming the field, and nothing is left behind.

#include "api/cri.h"
#include "common/status.h"

namespace berth {

Status ValidatePodSandboxConfig(const runtime::v1::PodSandboxConfig& config);

// INVALID_ARGUMENT unless `name` is a sysctl that is namespaced (and so may be set per pod)
// and allowed by the pod's namespace modes (no net.* with host network, no IPC sysctls with
// host IPC), and `value` is one line.
Status ValidatePodSysctl(const std::string& name, const std::string& value, bool host_network,
                         bool host_ipc);

}  // namespace berth
