#pragma once
// Running one CNI plugin binary: no shell, explicit environment, config on stdin, result on
// stdout, a hard timeout. See the CNI spec, "Section 2: Execution Protocol".

#include <chrono>
#include <string>
#include <vector>

#include "common/status.h"

namespace berth::cni {

struct ExecResult {
  int exit_code = -1;  // the process's exit status; 128+n when killed by signal n
  std::string out;     // stdout (the CNI result or error JSON)
  std::string err;     // stderr, truncated to a few KiB (for messages and logs)
};

// Runs `path` with argv {path} and the environment `env` ("KEY=value" entries, used as is),
// writes `stdin_data` to its stdin, and collects stdout/stderr until it exits. The child gets
// only fds 0-2 (everything else is closed before exec). When it runs longer than `timeout` it
// is killed and DEADLINE_EXCEEDED returned. A non-zero exit is not an error here: the caller
// reads exit_code. Errors: the binary cannot be started. Thread-safe (posix_spawn, no global
// state); SIGPIPE is never raised in the caller (stdin is a socket written with MSG_NOSIGNAL).
Result<ExecResult> ExecPlugin(const std::string& path, const std::vector<std::string>& env,
                              const std::string& stdin_data, std::chrono::milliseconds timeout);

// The first "<dir>/<type>" among `dirs` that is an executable regular file; NOT_FOUND naming
// the directories otherwise. `type` must be a plain file name (no '/', not "." or "..").
Result<std::string> FindPluginBinary(const std::string& type, const std::vector<std::string>& dirs);

// The calling process's environment without any CNI_* variables, as "KEY=value" entries: the
// base a plugin's environment is built on (libcni does the same), so that PATH reaches
// plugins that run iptables.
std::vector<std::string> BaseEnvironment();

}  // namespace berth::cni
