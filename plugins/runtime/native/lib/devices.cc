#include "plugins/runtime/native/lib/devices.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/unique_fd.h"
#include "plugins/runtime/native/lib/safe_path.h"

namespace berth::native {
namespace {

Status MakeNode(int root_fd, const Device& d, const DeviceOptions& opts) {
  auto [parent, name] = SplitLast(d.path);
  BERTH_RETURN_IF_ERROR(MkdirAllInRoot(root_fd, parent, 0755));
  Result<int> pfd_r = OpenInRoot(root_fd, parent, O_PATH | O_DIRECTORY);
  if (!pfd_r.ok()) return pfd_r.status();
  UniqueFd pfd(*pfd_r);
  // Replace whatever the image put there (a node must be exactly what the spec says).
  if (unlinkat(pfd.get(), name.c_str(), 0) != 0 && errno != ENOENT)
    return ErrnoStatus(errno, "replace " + d.path);
  mode_t perm = d.file_mode.value_or(0666) & 07777;
  if (opts.bind_from_host && d.type != 'p') {
    int f =
        openat(pfd.get(), name.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0000);
    if (f < 0) return ErrnoStatus(errno, "create " + d.path);
    close(f);
    Result<int> target = OpenInRoot(root_fd, d.path, O_PATH);
    if (!target.ok()) return target.status();
    UniqueFd t(*target);
    if (mount(d.path.c_str(), FdPath(t.get()).c_str(), nullptr, MS_BIND, nullptr) != 0)
      return ErrnoStatus(errno, "bind device " + d.path);
    return OkStatus();
  }
  mode_t type = d.type == 'b' ? S_IFBLK : d.type == 'p' ? S_IFIFO : S_IFCHR;
  dev_t dev = makedev(static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor));
  if (mknodat(pfd.get(), name.c_str(), type | perm, dev) != 0)
    return ErrnoStatus(errno, "mknod " + d.path);
  if (fchmodat(pfd.get(), name.c_str(), perm, 0) != 0) return ErrnoStatus(errno, "chmod " + d.path);
  if ((d.uid || d.gid) && fchownat(pfd.get(), name.c_str(), d.uid.value_or(0), d.gid.value_or(0),
                                   AT_SYMLINK_NOFOLLOW) != 0)
    return ErrnoStatus(errno, "chown " + d.path);
  return OkStatus();
}

Status Symlink(int root_fd, const char* target, const std::string& path) {
  auto [parent, name] = SplitLast(path);
  Result<int> pfd = OpenInRoot(root_fd, parent, O_PATH | O_DIRECTORY);
  if (!pfd.ok()) return pfd.status();
  UniqueFd p(*pfd);
  if (symlinkat(target, p.get(), name.c_str()) != 0 && errno != EEXIST)
    return ErrnoStatus(errno, "symlink " + path);
  return OkStatus();
}

}  // namespace

Status CreateDevices(int root_fd, const std::vector<Device>& devices, const DeviceOptions& opts) {
  if (opts.defaults) {
    const Device kDefaults[] = {
        {"/dev/null", 'c', 1, 3, 0666, 0, 0},    {"/dev/zero", 'c', 1, 5, 0666, 0, 0},
        {"/dev/full", 'c', 1, 7, 0666, 0, 0},    {"/dev/random", 'c', 1, 8, 0666, 0, 0},
        {"/dev/urandom", 'c', 1, 9, 0666, 0, 0}, {"/dev/tty", 'c', 5, 0, 0666, 0, 0},
    };
    for (const Device& d : kDefaults) {
      bool overridden = false;
      for (const Device& s : devices) overridden |= s.path == d.path;
      if (!overridden) BERTH_RETURN_IF_ERROR(MakeNode(root_fd, d, opts));
    }
    BERTH_RETURN_IF_ERROR(Symlink(root_fd, "/proc/self/fd", "/dev/fd"));
    BERTH_RETURN_IF_ERROR(Symlink(root_fd, "/proc/self/fd/0", "/dev/stdin"));
    BERTH_RETURN_IF_ERROR(Symlink(root_fd, "/proc/self/fd/1", "/dev/stdout"));
    BERTH_RETURN_IF_ERROR(Symlink(root_fd, "/proc/self/fd/2", "/dev/stderr"));
    bool has_ptmx = false;
    for (const Device& s : devices) has_ptmx |= s.path == "/dev/ptmx";
    if (!has_ptmx) {
      // The devpts newinstance's own ptmx, so ptys opened in the container live there.
      int dfd = openat(root_fd, "dev", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (dfd >= 0) {
        unlinkat(dfd, "ptmx", 0);
        close(dfd);
      }
      BERTH_RETURN_IF_ERROR(Symlink(root_fd, "pts/ptmx", "/dev/ptmx"));
    }
  }
  for (const Device& d : devices) BERTH_RETURN_IF_ERROR(MakeNode(root_fd, d, opts));
  if (!opts.console_path.empty()) {
    Result<int> t = EnsureInRoot(root_fd, "/dev/console", /*directory=*/false);
    if (!t.ok()) return t.status();
    UniqueFd target(*t);
    if (mount(opts.console_path.c_str(), FdPath(target.get()).c_str(), nullptr, MS_BIND, nullptr) !=
        0)
      return ErrnoStatus(errno, "bind /dev/console");
  }
  return OkStatus();
}

std::vector<DeviceRule> DefaultDeviceRules() {
  return {
      {true, 'c', -1, -1, "m"},    {true, 'b', -1, -1, "m"},     // mknod of anything
      {true, 'c', 1, 3, "rwm"},    {true, 'c', 1, 5, "rwm"},     // null, zero
      {true, 'c', 1, 7, "rwm"},    {true, 'c', 1, 8, "rwm"},     // full, random
      {true, 'c', 1, 9, "rwm"},    {true, 'c', 5, 0, "rwm"},     // urandom, tty
      {true, 'c', 5, 1, "rwm"},    {true, 'c', 5, 2, "rwm"},     // console, ptmx
      {true, 'c', 136, -1, "rwm"}, {true, 'c', 10, 200, "rwm"},  // pts/*, net/tun
  };
}

}  // namespace berth::native
