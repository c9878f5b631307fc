#pragma once
// berth-shim's command line:
//   berth-shim --id <id> --bundle <dir> --state-dir <dir> [--log-path <file>]
//              [--ready-fd <n>] [--foreground] [--log-level debug|info|warn|error]
//              [--stdin <path>] [--runtime native|oci --runtime-path <bin> [--runtime-root <dir>]]
// The shim creates the container of <bundle>/config.json, listens on <state-dir>/shim.sock,
// writes <state-dir>/shim.pid and, on exit of the init, <state-dir>/exit.json. --ready-fd is a
// pipe inherited from the launcher: one line "ok <shim pid> <init pid>" or "error <code> <msg>"
// is written to it, then it is closed. Without --foreground the shim detaches first (fork,
// setsid), so the launcher's waitpid() returns at once. --stdin: a FIFO (or file) that becomes
// the init's stdin; the shim keeps a FIFO's write end open until CloseStdin, so writers may come
// and go. --runtime oci: the container is created by the OCI runtime binary --runtime-path
// (runc, crun; state under --runtime-root) instead of in-process (see oci_driver.h).

#include <string>

#include "common/status.h"

namespace berth::shim {

struct ShimOptions {
  std::string id;
  std::string bundle;
  std::string state_dir;
  std::string log_path;  // empty: output is discarded
  int ready_fd = -1;
  bool foreground = false;
  std::string log_level = "info";
  std::string stdin_path;          // empty: /dev/null
  std::string runtime = "native";  // native | oci
  std::string runtime_path;        // oci: the runtime binary (absolute)
  std::string runtime_root;        // oci: its --root (empty: its default)
};

Result<ShimOptions> ParseOptions(int argc, char** argv);

inline std::string SocketPath(const std::string& state_dir) { return state_dir + "/shim.sock"; }
inline std::string PidFilePath(const std::string& state_dir) { return state_dir + "/shim.pid"; }

}  // namespace berth::shim
