#pragma once
// /dev inside the container: the default device nodes, the spec's linux.devices, the standard
// symlinks, and /dev/console for terminals. Runs in the child before pivot_root, relative to an
// fd of the rootfs (paths resolved with safe_path).

#include <string>
#include <vector>

#include "common/status.h"
#include "plugins/runtime/native/lib/spec.h"

namespace berth::native {

struct DeviceOptions {
  // mknod is impossible in a user namespace: bind-mount the host's node instead.
  bool bind_from_host = false;
  // Create /dev/null, zero, full, random, urandom, tty and the symlinks (only when the spec
  // mounts its own /dev; with a host /dev bind there is nothing to create).
  bool defaults = true;
  // The host path of the pty slave to bind onto /dev/console (empty: no console). A path, not
  // an fd: the fd's mount lives in the runtime's mount namespace, which mount(2) refuses.
  std::string console_path;
};

Status CreateDevices(int root_fd, const std::vector<Device>& devices, const DeviceOptions& opts);

// The devices-cgroup allow rules every container gets (runc's AllowedDevices): the default
// nodes above, /dev/pts/*, /dev/ptmx, /dev/console, /dev/net/tun, and mknod of anything.
std::vector<DeviceRule> DefaultDeviceRules();

}  // namespace berth::native
