#pragma once
// PodView: what the rest of berthd (containers, streaming, stats) may know about a pod
// sandbox. A copy, taken under the pod manager's lock; it does not track later changes.
// Produced by cri/pod (PodManager::Get), consumed by cri/container when it builds a
// container's OCI spec: the namespace files to join, the cgroup parent, the files to bind.

#include <cstdint>
#include <string>
#include <vector>

#include "api/cri.h"

namespace berth {

enum class PodState { kReady, kNotReady };

struct PodView {
  std::string id;                        // 64 hex characters
  runtime::v1::PodSandboxConfig config;  // as RunPodSandbox received it
  std::string runtime_handler;           // the CRI handler ("" = default)
  std::string runtime_plugin;            // the runtime plugin it resolved to
  PodState state = PodState::kReady;
  int64_t created_at_unix_nano = 0;

  // Namespace files to join ("" = the container gets a new one / the host's, as the pod's
  // NamespaceOption says). For NODE network mode netns_path is "" and host_network is true.
  std::string netns_path;
  std::string ipc_ns_path;
  std::string uts_ns_path;
  std::string pid_ns_path;  // only for NamespaceMode POD (the infra's pid ns)
  bool host_network = false;
  bool host_pid = false;
  bool host_ipc = false;

  // Files the pod provides to each container (bind-mounted by the container's spec).
  std::string hostname;
  std::string hostname_path;     // "<state>/pods/<id>/hostname"
  std::string resolv_conf_path;  // "" when the pod uses the host's resolv.conf
  std::string hosts_path;
  std::string shm_path;  // the pod's /dev/shm mount ("" with host IPC)

  // cgroupfs parent for the pod's containers, e.g. "/kubepods/besteffort/pod<uid>" or "" for
  // berth's default ("/berth/<pod id>").
  std::string cgroup_parent;
  std::string log_directory;  // config.log_directory
  std::string ip;             // primary pod IP ("" with host networking)
  std::vector<std::string> additional_ips;
  // The pod's infra container's process (the sandbox image's, PID 1 of pid_ns_path; pod_infra.h)
  // when its containers share a PID namespace (NamespaceMode POD); 0 otherwise or once the pod
  // is stopped.
  int infra_pid = 0;
};

}  // namespace berth
