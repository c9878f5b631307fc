#pragma once
// What runs in the cloned child between clone3 and execve (internal to container.cc).
//
// Setup channel: a SOCK_SEQPACKET socketpair. Child → parent messages: 'R' (namespaces
// joined; parent may now write id maps, cgroup membership, oom_score_adj), 'D' (set up,
// parked before execve), 'E<code>:<message>' (setup failed; the child exits), 'X<code>:<msg>'
// (execve failed after Start). Parent → child: 'G' (continue after 'R'), 'S' (execve now).
// EOF on either side aborts: the child exits without exec'ing.

#include <string>

#include "common/status.h"
#include "plugins/runtime/native/lib/spec.h"

namespace berth::native {

struct ChildPlan {
  const OciSpec* spec = nullptr;         // the container's spec (seccomp, namespaces, mounts)
  const ProcessSpec* process = nullptr;  // what to run
  bool is_init = true;
  std::string rootfs;      // init only
  std::string bundle_dir;  // init only
  int stdio[3] = {-1, -1, -1};
  int pty_slave = -1;
  std::string pty_path;  // host path of pty_slave
  int sync_fd = -1;
  // init: namespaces to unshare right after joining a user namespace by path.
  int unshare_flags = 0;
  bool new_user_ns = false;
  bool new_cgroup_ns = false;
  bool new_mount_ns = false;
  // exec: join these namespaces of the container through its init's pidfd.
  int join_pidfd = -1;
  int join_flags = 0;
};

[[noreturn]] void RunChild(const ChildPlan& plan);

// Channel helpers shared with the parent side.
Status SendMsg(int fd, char type, const std::string& payload = "");
// Waits up to `timeout_ms` for one message; '\0' with OK status on EOF.
Result<char> RecvMsg(int fd, std::string* payload, int timeout_ms);
// Decodes an 'E'/'X' payload back into a Status.
Status DecodeStatus(const std::string& payload);

}  // namespace berth::native
