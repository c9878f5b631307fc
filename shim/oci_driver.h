#pragma once
// OciDriver: berth-shim's "oci" mode — the container is created and operated by an OCI runtime
// binary (runc, crun) while the shim stays its parent (child sub-reaper: the runtime's
// processes exit and the container's processes are re-parented to the shim), its log writer
// and exit recorder.
//
//   create  → <rt> --root R --log L --log-format json create --bundle B --pid-file P
//             [--console-socket S] <id>
//   start   → <rt> start <id>
//   exec    → <rt> exec --detach --pid-file P --process F [--console-socket S] <id>
//   kill    → <rt> kill [--all] <id> <signal>
//   update  → <rt> update --resources - <id>      (OCI linux.resources JSON on stdin)
//   delete  → <rt> delete --force <id>
//
// Every call runs the runtime to completion (blocking the shim's loop for its few milliseconds;
// it never waits on a container process). Without a terminal the runtime passes the stdio it
// was given straight to the container process ("pass-through"), so the shim hands it the pipes
// it reads. With a terminal the runtime sends the pty master over the console socket (a unix
// socket in the state dir; SCM_RIGHTS). Errors carry the runtime's own message (the last error
// of its JSON log, else its stderr). Single-threaded.

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/log.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "plugins/runtime/native/lib/container.h"

namespace berth::shim {

struct OciDriverConfig {
  std::string runtime_path;  // absolute
  std::string root;          // the runtime's --root (empty: its default)
  std::string id;
  std::string bundle;
  std::string state_dir;
};

// A terminal's size in characters; 0 = unset.
struct OciConsoleSize {
  unsigned short rows = 0, cols = 0;
};

class OciDriver {
 public:
  OciDriver(OciDriverConfig config, Logger logger);

  // The container exists afterwards, its init parked until Start; the returned Process has
  // pid, pidfd and (terminal) pty_master. `stdio` is borrowed; -1 = /dev/null.
  Result<native::Process> Create(bool terminal, native::Stdio stdio);
  Status Start();
  Status Kill(int signal, bool all);
  // Runs `process_json` (an OCI process object; "terminal" is set from `terminal`) in the
  // container, started; its pid (re-parented to the caller once the runtime exits). With a
  // terminal, a non-zero `size` (rows, cols) becomes the process's "consoleSize": the runtime
  // sizes the pty before the process runs (a TIOCSWINSZ after Exec returns would race it).
  Result<native::Process> Exec(const std::string& process_json, bool terminal, native::Stdio stdio,
                               OciConsoleSize size = {});
  Status Update(const std::string& resources_json);
  Status Delete();

 private:
  // Runs the runtime with the global flags + `args`. stdio.err == -1: captured for the error.
  Status Run(const std::vector<std::string>& args, native::Stdio stdio,
             const std::string& input = "");
  Result<UniqueFd> ListenConsole(std::string* path);
  Result<UniqueFd> ReceivePty(int listener);
  Result<native::Process> Adopt(const std::string& pid_file);
  std::string LastLogError();
  // A path for a socket or file in the state dir that fits in sun_path (108 bytes).
  std::string ShortPath(const std::string& name);

  OciDriverConfig config_;
  Logger logger_;
  UniqueFd state_dir_fd_;
  unsigned serial_ = 0;
};

}  // namespace berth::shim
