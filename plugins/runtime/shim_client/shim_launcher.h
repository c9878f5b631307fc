#pragma once
// Starting a berth-shim and waiting until its container exists (or failed to).
// Thread-safe: forks with only async-signal-safe work between fork and execve.

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/status.h"

namespace berth::runtime_shim {

struct LaunchedShim {
  pid_t shim_pid = -1;
  pid_t init_pid = -1;
};

// Runs `shim_path` with `args` (and --ready-fd), reaps the launcher process (the shim detaches),
// and reads the readiness line. The shim's own error (e.g. INVALID_ARGUMENT for a bad spec)
// comes back with its code; DEADLINE_EXCEEDED after `timeout_ms`.
Result<LaunchedShim> LaunchShim(const std::string& shim_path, std::vector<std::string> args,
                                int timeout_ms = 60000);

}  // namespace berth::runtime_shim
