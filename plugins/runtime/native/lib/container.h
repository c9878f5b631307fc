#pragma once
// berth::native — create and run OCI containers in-process (linked into berth-shim).
//
//   Result<OciSpec> spec = LoadSpec(bundle);
//   Result<Container> c = Create(*spec, opts);   // init waits before execve
//   Start(c->init);                              // init execs process.args
//   ... epoll on c->init.pidfd; Stats/Update via c->cgroup; Exec(*c, proc, exec_opts) ...
//   Destroy(*c);                                 // kills leftovers, removes the cgroup
//
// Contract for the caller (the shim):
// - Single-threaded use. Create/Exec fork the caller with clone3 (no new stack), so the caller
//   must not have other threads at that moment (they would not exist in the child and could
//   hold locks). No threads are started and no signal handlers are installed here.
// - Nothing here waits for a container process to exit. Create/Exec block only until the child
//   has finished its setup (or failed; then it is reaped here and the error returned), Start
//   until the process has called execve. Reaping after that is the caller's job (pidfd or
//   waitpid), which is why the caller should be the child sub-reaper.
// - fds: stdio fds in the options are borrowed (the child gets copies). Every fd in the
//   returned structs is owned (UniqueFd), O_CLOEXEC. No other fd of the caller reaches the
//   container: the child closes all but stdio before entering any namespace.
// - Errors: INVALID_ARGUMENT for a spec the runtime refuses (message names the field),
//   FAILED_PRECONDITION for host limitations (e.g. a missing cgroup controller), otherwise the
//   errno-mapped status of the step that failed, prefixed with that step ("container init: …").

#include <sys/types.h>

#include <memory>
#include <string>

#include "common/log.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "plugins/runtime/native/lib/cgroup.h"
#include "plugins/runtime/native/lib/seccomp.h"
#include "plugins/runtime/native/lib/spec.h"

namespace berth::native {

// stdio for a new process. Borrowed; -1 means /dev/null. Ignored when the process spec asks
// for a terminal (then a pty is allocated and its master returned).
struct Stdio {
  int in = -1, out = -1, err = -1;
};

struct CreateOptions {
  std::string bundle_dir;  // absolute; root.path and relative bind sources are relative to it
  std::string state_dir;   // reserved for runtime state files (created when set)
  Stdio stdio;
  // Cgroup placement. `cgroup.path` defaults to linux.cgroupsPath; when both are empty the
  // container stays in the caller's cgroups (no limits, no stats).
  CgroupConfig cgroup;
  Logger logger = Logger();
};

// A process created and set up but (until Start) parked before execve.
struct Process {
  pid_t pid = -1;       // in the caller's pid namespace
  UniqueFd pidfd;       // for epoll (readable on exit) and pidfd_send_signal
  UniqueFd pty_master;  // when process.terminal; the caller pumps it and sets the window size
  UniqueFd sync;        // internal: the setup channel, consumed by Start
};

struct Container {
  OciSpec spec;
  Process init;
  std::unique_ptr<Cgroup> cgroup;  // null when the container has no cgroup of its own
};

// Builds the container: namespaces, cgroup, rootfs, process setup; the init process then waits
// for Start. On error nothing is left behind (child reaped, cgroup removed).
Result<Container> Create(const OciSpec& spec, const CreateOptions& options);

// Lets a created process (container init or exec) call execve, and waits until it has (the
// setup channel closes on exec). FAILED_PRECONDITION if already started; the exec error (e.g.
// ENOEXEC) otherwise. Does not wait for the process to exit.
Status Start(Process& process);

struct ExecOptions {
  Stdio stdio;
  Logger logger = Logger();
};

// Creates a new process inside a running container: joins all its namespaces (through the
// init's pidfd) and its cgroup, then applies `process` like Create does (user, capabilities,
// no_new_privs, the container's seccomp filter, rlimits, env, cwd). The process is parked:
// call Start. It is not dumpable until execve, so container processes cannot open its
// /proc/<pid>/exe (the runtime binary) (CVE-2019-5736 class).
Result<Process> Exec(const Container& container, const ProcessSpec& process,
                     const ExecOptions& options);

// SIGKILLs every process of the container (through the cgroup, else the init) and removes the
// cgroup. Does not reap the init (the caller does). Idempotent.
Status Destroy(Container& container);

}  // namespace berth::native
