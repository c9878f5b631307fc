#pragma once
// OCI seccomp sections → BPF filters (libseccomp), and the RuntimeDefault profile.

#include <string>
#include <vector>

#include "common/status.h"
#include "plugins/runtime/native/lib/spec.h"

namespace berth::native {

// Builds the filter without loading it: INVALID_ARGUMENT for unknown actions, operators,
// architectures or flags. Syscall names unknown to this libseccomp/arch are skipped (profiles
// list syscalls of other architectures and kernels on purpose).
Status ValidateSeccomp(const Seccomp& seccomp);

// Builds and loads the filter into the calling thread's process. Needs no_new_privs or
// CAP_SYS_ADMIN (the caller orders it accordingly). Intended for the container child.
Status LoadSeccomp(const Seccomp& seccomp);

// The profile Docker/containerd apply as "RuntimeDefault": default action ERRNO(EPERM), an
// allow-list of ordinary syscalls, plus syscalls unlocked by the capabilities in
// `bounding_caps` (e.g. CAP_SYS_ADMIN unlocks mount/unshare/setns; without it clone may not
// create namespaces and clone3 fails with ENOSYS so libcs fall back to clone).
Seccomp RuntimeDefaultSeccompProfile(const std::vector<std::string>& bounding_caps = {});

}  // namespace berth::native
