#pragma once
// The container's filesystem view, built in the child inside its new mount namespace:
//   PrepareRootfs: propagation, rootfs bind, spec mounts (each destination resolved inside the
//                  rootfs with safe_path, CVE-2021-30465 class), /dev, then pivot_root.
//   FinishRootfs:  after pivot_root and sysctls: masked paths, readonly paths, readonly root,
//                  rootfs propagation.

#include <string>

#include "common/status.h"
#include "plugins/runtime/native/lib/spec.h"

namespace berth::native {

struct RootfsOptions {
  std::string rootfs;      // absolute host path of the rootfs
  std::string bundle_dir;  // relative bind sources are relative to it
  bool in_user_ns = false;
  bool new_cgroup_ns = false;
  std::string console_path;  // host path of the pty slave for /dev/console; empty: none
};

Status PrepareRootfs(const OciSpec& spec, const RootfsOptions& opts);
Status FinishRootfs(const OciSpec& spec);

// Mount option parsing, exposed for tests: flags to set, flags to clear, propagation,
// whether it is a (recursive) bind, and the remaining comma-joined data string.
struct MountOptions {
  unsigned long flags = 0;
  unsigned long propagation = 0;
  bool bind = false, recursive = false;
  std::string data;
};
MountOptions ParseMountOptions(const std::vector<std::string>& options);

}  // namespace berth::native
