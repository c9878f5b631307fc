#pragma once
// The host's device nodes, for privileged containers: the CRI says a privileged container sees
// all of the host's devices (as with `docker run --privileged`), so its spec lists each one.
//
// Walks `dev_dir` recursively without following symlinks. Left out, like containerd: the
// pseudo-terminal, shared-memory and message-queue trees (pts, shm, mqueue — the container gets
// its own), fd/std* links, /dev/console and /dev/ptmx (the runtime makes its own). Anything
// unreadable is skipped. Stateless; callable from any thread.

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace berth::container {

struct HostDevice {
  std::string path;  // as in the container: the host path with dev_dir replaced by "/dev"
  char type = 'c';   // 'c' or 'b'
  int64_t major = 0, minor = 0;
  mode_t mode = 0;  // permission bits
  uid_t uid = 0;
  gid_t gid = 0;
};

std::vector<HostDevice> HostDevices(const std::string& dev_dir = "/dev");

}  // namespace berth::container
