#pragma once
// The files a pod gives its containers: hostname, /etc/hosts, /etc/resolv.conf and a /dev/shm
// tmpfs, all under the pod's state directory (bind-mounted into each container by its spec).
//
// Free functions, callable from any thread. Errors name the file; undo steps are idempotent.

#include <string>
#include <vector>

#include "api/cri.h"
#include "common/status.h"

namespace berth {

// /dev/shm size, as containerd sizes the sandbox's shm.
inline constexpr int64_t kPodShmBytes = 64 * 1024 * 1024;

Status WriteHostnameFile(const std::string& path, const std::string& hostname);

// The pod's /etc/hosts: the localhost lines and "<ip>\t<hostname>" when the pod has an IP.
// With host networking the host's /etc/hosts is copied instead (the pod is the host).
Status WriteHostsFile(const std::string& path, const std::string& hostname, const std::string& ip,
                      bool host_network);

// resolv.conf from `dns` (search/nameserver/options lines); a copy of the host's
// /etc/resolv.conf when `dns` has no servers, searches nor options.
Status WriteResolvConf(const std::string& path, const runtime::v1::DNSConfig& dns);

// Mounts a kPodShmBytes tmpfs (mode 1777, nosuid,nodev,noexec) on `path`, creating it.
Status MountPodShm(const std::string& path);

// Unmounts (if mounted) and removes `path`.
Status UnmountPodShm(const std::string& path);

}  // namespace berth
