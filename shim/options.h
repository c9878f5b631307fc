#pragma once
// berth-shim's command line:
//   berth-shim --id <id> --bundle <dir> --state-dir <dir> [--log-path <file>]
//              [--ready-fd <n>] [--foreground] [--log-level debug|info|warn|error]
// The shim creates the container of <bundle>/config.json, listens on <state-dir>/shim.sock,
// writes <state-dir>/shim.pid and, on exit of the init, <state-dir>/exit.json. --ready-fd is a
// pipe inherited from the launcher: one line "ok <shim pid> <init pid>" or "error <code> <msg>"
// is written to it, then it is closed. Without --foreground the shim detaches first (fork,
// setsid), so the launcher's waitpid() returns at once.

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
};

Result<ShimOptions> ParseOptions(int argc, char** argv);

inline std::string SocketPath(const std::string& state_dir) { return state_dir + "/shim.sock"; }
inline std::string PidFilePath(const std::string& state_dir) { return state_dir + "/shim.pid"; }

}  // namespace berth::shim
