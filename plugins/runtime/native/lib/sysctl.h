#pragma once
// Namespaced sysctls (linux.sysctl): validation against the allow-list, and applying them.
//
// Only sysctls that the kernel scopes to a namespace the container owns are accepted, as runc
// does: kernel.msg*/kernel.shm*/kernel.sem and fs.mqueue.* need a private IPC namespace,
// net.* a private network namespace, kernel.hostname/domainname a private UTS namespace.
// Keys must be plain dotted (or slashed) names and values may not contain newlines or NULs,
// so that a value can never spill into another key.

#include <map>
#include <string>

#include "common/status.h"
#include "plugins/runtime/native/lib/spec.h"

namespace berth::native {

// INVALID_ARGUMENT naming the key when a sysctl is not allowed for `linux`'s namespaces.
Status ValidateSysctls(const std::map<std::string, std::string>& sysctl, const LinuxSpec& linux);

// Writes each value to /proc/sys/<key>. Runs inside the container (after pivot_root, before
// /proc/sys is made read-only). Call ValidateSysctls first.
Status ApplySysctls(const std::map<std::string, std::string>& sysctl);

}  // namespace berth::native
