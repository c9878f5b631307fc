#pragma once
// The per-process part of container setup, run in the child between clone and execve:
// fds, rlimits, user and groups, capabilities, no_new_privs, working directory, executable
// lookup. Each function is a single step so the child can order them (see child.cc).
// None of them logs or spawns threads; errors are returned for the child to report.

#include <string>
#include <vector>

#include "common/status.h"
#include "plugins/runtime/native/lib/spec.h"

namespace berth::native {

// Moves `in`/`out`/`err` to fds 0, 1, 2 (-1 → /dev/null). Handles overlaps between the given fds
// and 0..2.
Status SetupStdio(int in, int out, int err);

// Closes every fd >= 3 except those in `keep` (close_range, falling back to a /proc/self/fd
// walk), and marks the kept ones close-on-exec. After this no host fd can reach the container
// (CVE-2024-21626 class).
Status CloseFdsExcept(std::vector<int> keep);

// Resets signal dispositions to default and unblocks all signals (the shim blocks signals for
// its signalfd; a blocked or ignored disposition would otherwise survive execve).
void ResetSignals();

Status ApplyRlimits(const std::vector<Rlimit>& rlimits);

// Drops capabilities outside the bounding set. Must run while the process still has
// CAP_SETPCAP, i.e. before SwitchUser.
Status DropBoundingSet(const Capabilities& caps);

// setgroups + setresgid + setresuid, keeping the permitted set (PR_SET_KEEPCAPS) so that
// ApplyCapabilities can then set the spec's sets for a non-root user.
Status SwitchUser(const User& user);

// Sets effective/permitted/inheritable to the spec's (all empty when `caps` is absent) and
// raises the ambient set.
Status ApplyCapabilities(const std::optional<Capabilities>& caps);

Status SetNoNewPrivs();

// chdir(cwd) and checks that the result is inside the container's root: a cwd that resolves
// through an fd to a directory outside (e.g. "/proc/self/fd/7") is refused.
Status ChangeDir(const std::string& cwd);

// Finds args[0] like execvp would, using PATH from `env`: the absolute path to execute.
Result<std::string> LookPath(const std::string& file, const std::vector<std::string>& env);

}  // namespace berth::native
