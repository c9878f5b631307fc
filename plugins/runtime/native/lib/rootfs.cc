#include "plugins/runtime/native/lib/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <sstream>

#include "common/unique_fd.h"
#include "plugins/runtime/native/lib/devices.h"
#include "plugins/runtime/native/lib/safe_path.h"

namespace berth::native {
namespace {

constexpr unsigned long kAttrFlags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME |
                                     MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME;

// MS_* per-mount flags → MOUNT_ATTR_* for mount_setattr on bind mounts.
mount_attr AttrFor(unsigned long flags) {
  mount_attr a{};
  if (flags & MS_RDONLY) a.attr_set |= MOUNT_ATTR_RDONLY;
  if (flags & MS_NOSUID) a.attr_set |= MOUNT_ATTR_NOSUID;
  if (flags & MS_NODEV) a.attr_set |= MOUNT_ATTR_NODEV;
  if (flags & MS_NOEXEC) a.attr_set |= MOUNT_ATTR_NOEXEC;
  if (flags & MS_NODIRATIME) a.attr_set |= MOUNT_ATTR_NODIRATIME;
  if (flags & (MS_NOATIME | MS_STRICTATIME | MS_RELATIME)) {
    a.attr_clr |= MOUNT_ATTR__ATIME;
    a.attr_set |= (flags & MS_NOATIME)       ? MOUNT_ATTR_NOATIME
                  : (flags & MS_STRICTATIME) ? MOUNT_ATTR_STRICTATIME
                                             : MOUNT_ATTR_RELATIME;
  }
  return a;
}

Status SetAttr(int fd, unsigned long flags, bool recursive, const std::string& what) {
  mount_attr a = AttrFor(flags & kAttrFlags);
  if (a.attr_set == 0 && a.attr_clr == 0) return OkStatus();
  if (mount_setattr(fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &a, sizeof(a)) != 0)
    return ErrnoStatus(errno, "set mount attributes on " + what);
  return OkStatus();
}

// Clones the tree at `source` (host path) and attaches it at `target_fd` with `flags` applied
// before it becomes visible.
Status BindMount(const std::string& source, int target_fd, const MountOptions& o,
                 const std::string& what) {
  UniqueFd tree(open_tree(AT_FDCWD, source.c_str(),
                          OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (o.recursive ? AT_RECURSIVE : 0)));
  if (!tree) return ErrnoStatus(errno, "clone mount " + source + " for " + what);
  BERTH_RETURN_IF_ERROR(SetAttr(tree.get(), o.flags, o.recursive, what));
  if (move_mount(tree.get(), "", target_fd, "",
                 MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0)
    return ErrnoStatus(errno, "attach bind mount at " + what);
  return OkStatus();
}

Status SetPropagation(int root_fd, const std::string& dest, unsigned long prop) {
  if (!prop) return OkStatus();
  Result<int> fd = OpenInRoot(root_fd, dest, O_PATH);
  if (!fd.ok()) return fd.status();
  UniqueFd f(*fd);
  if (mount(nullptr, FdPath(f.get()).c_str(), nullptr, prop, nullptr) != 0)
    return ErrnoStatus(errno, "set propagation of " + dest);
  return OkStatus();
}

// v1 hosts: a tmpfs with one cgroup mount per hierarchy; v2 hosts: one cgroup2 mount. In a new
// cgroup namespace each shows the container's own cgroup as its root.
Status MountCgroupFs(int root_fd, const Mount& m, const MountOptions& o, int target_fd) {
  std::ifstream in("/proc/self/mountinfo");
  std::vector<std::pair<std::string, std::string>> v1;  // name, super options
  bool v2 = false;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ss(line);
    std::vector<std::string> f;
    for (std::string w; ss >> w;) f.push_back(w);
    size_t dash = 0;
    while (dash < f.size() && f[dash] != "-") ++dash;
    if (f.size() < 5 || dash + 3 >= f.size()) continue;
    if (f[4] == "/sys/fs/cgroup" && f[dash + 1] == "cgroup2") v2 = true;
    if (f[dash + 1] != "cgroup" || f[4].rfind("/sys/fs/cgroup/", 0) != 0) continue;
    v1.emplace_back(f[4].substr(15), f[dash + 3]);
  }
  unsigned long flags = o.flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY);
  if (v2) {
    if (mount("cgroup2", FdPath(target_fd).c_str(), "cgroup2", flags, nullptr) != 0)
      return ErrnoStatus(errno, "mount cgroup2 at " + m.destination);
    return OkStatus();
  }
  if (mount("tmpfs", FdPath(target_fd).c_str(), "tmpfs", flags & ~MS_RDONLY, "mode=755") != 0)
    return ErrnoStatus(errno, "mount cgroup tmpfs at " + m.destination);
  for (const auto& [name, super] : v1) {
    if (name.find('/') != std::string::npos || name == "unified") continue;
    std::string opts;
    for (std::string_view c :
         {"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "hugetlb",
          "net_cls", "net_prio", "perf_event", "rdma", "misc", "name=systemd"})
      if (("," + super + ",").find("," + std::string(c) + ",") != std::string::npos)
        opts += (opts.empty() ? "" : ",") + std::string(c);
    if (opts.empty()) continue;
    std::string dest = m.destination + "/" + name;
    Result<int> t = EnsureInRoot(root_fd, dest, true);
    if (!t.ok()) return t.status();
    UniqueFd tf(*t);
    if (mount("cgroup", FdPath(tf.get()).c_str(), "cgroup", flags, opts.c_str()) != 0)
      return ErrnoStatus(errno, "mount cgroup " + opts + " at " + dest);
  }
  if (flags & MS_RDONLY) {
    Result<int> t = OpenInRoot(root_fd, m.destination, O_PATH | O_DIRECTORY);
    if (!t.ok()) return t.status();
    UniqueFd tf(*t);
    mount_attr a{};
    a.attr_set = MOUNT_ATTR_RDONLY;
    if (mount_setattr(tf.get(), "", AT_EMPTY_PATH, &a, sizeof(a)) != 0)
      return ErrnoStatus(errno, "make " + m.destination + " read-only");
  }
  return OkStatus();
}

Status MountOne(int root_fd, const Mount& m, const RootfsOptions& opts) {
  MountOptions o = ParseMountOptions(m.options);
  bool bind = o.bind || m.type == "bind";
  std::string source = m.source;
  if (bind && !source.empty() && source[0] != '/') source = opts.bundle_dir + "/" + source;
  bool dir = true;
  if (bind) {
    struct stat st;
    if (stat(source.c_str(), &st) != 0) return ErrnoStatus(errno, "bind source " + source);
    dir = S_ISDIR(st.st_mode);
  }
  // The destination is resolved (and created) inside the rootfs; the mount then goes onto the
  // exact object we resolved, through its fd.
  Result<int> t = EnsureInRoot(root_fd, m.destination, dir);
  if (!t.ok()) return t.status().Wrap("mount destination");
  UniqueFd target(*t);
  if (bind) {
    BERTH_RETURN_IF_ERROR(BindMount(source, target.get(), o, m.destination));
  } else if (m.type == "cgroup" || m.type == "cgroup2") {
    BERTH_RETURN_IF_ERROR(MountCgroupFs(root_fd, m, o, target.get()));
  } else {
    // Read-only goes on this mount, never on the filesystem: one network namespace has one
    // sysfs superblock (one IPC namespace one mqueue), shared by every mount of it, so a
    // read-only superblock made by one container (say a pod's unprivileged infra container)
    // would leave /sys read-only for a privileged container of the same pod. runc does the same.
    const unsigned long flags = o.flags;
    int rc = mount(m.source.c_str(), FdPath(target.get()).c_str(), m.type.c_str(),
                   flags & ~MS_RDONLY, o.data.empty() ? nullptr : o.data.c_str());
    if (rc != 0 && errno == EPERM && m.type == "sysfs") {
      // sysfs cannot be mounted without owning the network namespace: fall back to the host's.
      MountOptions b = o;
      b.recursive = true;
      BERTH_RETURN_IF_ERROR(BindMount("/sys", target.get(), b, m.destination));
    } else if (rc != 0) {
      return ErrnoStatus(errno, "mount " + m.type + " at " + m.destination);
    } else if (flags & MS_RDONLY) {
      // A fresh lookup reaches the new mount (`target` is the directory under it).
      Result<int> fd = OpenInRoot(root_fd, m.destination, O_PATH);
      if (!fd.ok()) return fd.status().Wrap("reopen " + m.destination);
      UniqueFd mounted(*fd);
      BERTH_RETURN_IF_ERROR(SetAttr(mounted.get(), MS_RDONLY, false, m.destination));
    }
  }
  return SetPropagation(root_fd, m.destination, o.propagation);
}

Status PivotRoot(const std::string& rootfs) {
  if (chdir(rootfs.c_str()) != 0) return ErrnoStatus(errno, "chdir rootfs");
  // pivot_root(".", "."): the old root ends up stacked under the new one, then is detached;
  // no directory inside the rootfs is needed for it.
  if (syscall(SYS_pivot_root, ".", ".") != 0) return ErrnoStatus(errno, "pivot_root");
  // Never let the unmount propagate back to the host.
  if (mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) != 0)
    return ErrnoStatus(errno, "make old root slave");
  if (umount2(".", MNT_DETACH) != 0) return ErrnoStatus(errno, "detach old root");
  if (chdir("/") != 0) return ErrnoStatus(errno, "chdir /");
  return OkStatus();
}

}  // namespace

MountOptions ParseMountOptions(const std::vector<std::string>& options) {
  static const std::map<std::string, std::pair<bool, unsigned long>> kFlags = {
      {"ro", {true, MS_RDONLY}},
      {"rw", {false, MS_RDONLY}},
      {"nosuid", {true, MS_NOSUID}},
      {"suid", {false, MS_NOSUID}},
      {"nodev", {true, MS_NODEV}},
      {"dev", {false, MS_NODEV}},
      {"noexec", {true, MS_NOEXEC}},
      {"exec", {false, MS_NOEXEC}},
      {"sync", {true, MS_SYNCHRONOUS}},
      {"async", {false, MS_SYNCHRONOUS}},
      {"dirsync", {true, MS_DIRSYNC}},
      {"mand", {true, MS_MANDLOCK}},
      {"nomand", {false, MS_MANDLOCK}},
      {"noatime", {true, MS_NOATIME}},
      {"atime", {false, MS_NOATIME}},
      {"nodiratime", {true, MS_NODIRATIME}},
      {"diratime", {false, MS_NODIRATIME}},
      {"relatime", {true, MS_RELATIME}},
      {"norelatime", {false, MS_RELATIME}},
      {"strictatime", {true, MS_STRICTATIME}},
      {"nostrictatime", {false, MS_STRICTATIME}},
  };
  static const std::map<std::string, unsigned long> kProp = {
      {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
      {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
      {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
      {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
  };
  MountOptions o;
  for (const std::string& opt : options) {
    if (auto it = kFlags.find(opt); it != kFlags.end()) {
      if (it->second.first)
        o.flags |= it->second.second;
      else
        o.flags &= ~it->second.second;
    } else if (auto p = kProp.find(opt); p != kProp.end()) {
      o.propagation = p->second;
    } else if (opt == "bind") {
      o.bind = true;
    } else if (opt == "rbind") {
      o.bind = o.recursive = true;
    } else {
      o.data += (o.data.empty() ? "" : ",") + opt;
    }
  }
  return o;
}

Status PrepareRootfs(const OciSpec& spec, const RootfsOptions& opts) {
  unsigned long prop =
      spec.linux.rootfs_propagation == Propagation::kPrivate ? MS_PRIVATE : MS_SLAVE;
  if (mount(nullptr, "/", nullptr, prop | MS_REC, nullptr) != 0)
    return ErrnoStatus(errno, "set / propagation");
  if (mount(opts.rootfs.c_str(), opts.rootfs.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
    return ErrnoStatus(errno, "bind rootfs " + opts.rootfs);
  UniqueFd root(open(opts.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return ErrnoStatus(errno, "open rootfs");
  bool own_dev = false;
  for (const Mount& m : spec.mounts) {
    BERTH_RETURN_IF_ERROR(MountOne(root.get(), m, opts));
    if (m.destination == "/dev") own_dev = !ParseMountOptions(m.options).bind && m.type != "bind";
  }
  DeviceOptions dopts;
  dopts.bind_from_host = opts.in_user_ns;
  dopts.defaults = own_dev;
  dopts.console_path = opts.console_path;
  BERTH_RETURN_IF_ERROR(CreateDevices(root.get(), spec.linux.devices, dopts));
  return PivotRoot(opts.rootfs);
}

Status FinishRootfs(const OciSpec& spec) {
  UniqueFd root(open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return ErrnoStatus(errno, "open /");
  for (const std::string& p : spec.linux.masked_paths) {
    // Resolved inside the root: a masked path the image replaced by a symlink masks the
    // symlink's target inside the container, never something of the host.
    Result<int> fd = OpenInRoot(root.get(), p, O_PATH);
    if (!fd.ok() && fd.status().code() == StatusCode::kNotFound) continue;
    if (!fd.ok()) return fd.status().Wrap("masked path");
    UniqueFd target(*fd);
    struct stat st;
    if (fstat(target.get(), &st) != 0) return ErrnoStatus(errno, "stat masked path " + p);
    if (S_ISDIR(st.st_mode)) {
      UniqueFd fs(fsopen("tmpfs", FSOPEN_CLOEXEC));
      if (!fs || fsconfig(fs.get(), FSCONFIG_SET_STRING, "size", "0", 0) != 0 ||
          fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0)
        return ErrnoStatus(errno, "create tmpfs to mask " + p);
      UniqueFd mnt(fsmount(fs.get(), FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY));
      if (!mnt) return ErrnoStatus(errno, "mount tmpfs to mask " + p);
      if (move_mount(mnt.get(), "", target.get(), "",
                     MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0)
        return ErrnoStatus(errno, "mask " + p);
    } else {
      UniqueFd null(open_tree(AT_FDCWD, "/dev/null", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
      if (!null) return ErrnoStatus(errno, "clone /dev/null to mask " + p);
      if (move_mount(null.get(), "", target.get(), "",
                     MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0)
        return ErrnoStatus(errno, "mask " + p);
    }
  }
  for (const std::string& p : spec.linux.readonly_paths) {
    Result<int> fd = OpenInRoot(root.get(), p, O_PATH);
    if (!fd.ok() && fd.status().code() == StatusCode::kNotFound) continue;
    if (!fd.ok()) return fd.status().Wrap("readonly path");
    UniqueFd target(*fd);
    UniqueFd tree(open_tree(target.get(), "",
                            OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE));
    if (!tree) return ErrnoStatus(errno, "clone readonly path " + p);
    BERTH_RETURN_IF_ERROR(SetAttr(tree.get(), MS_RDONLY, true, p));
    if (move_mount(tree.get(), "", target.get(), "",
                   MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0)
      return ErrnoStatus(errno, "make " + p + " read-only");
  }
  if (spec.root_readonly) {
    mount_attr a{};
    a.attr_set = MOUNT_ATTR_RDONLY;
    if (mount_setattr(AT_FDCWD, "/", 0, &a, sizeof(a)) != 0)
      return ErrnoStatus(errno, "make rootfs read-only");
  }
  unsigned long prop = 0;
  switch (spec.linux.rootfs_propagation) {
    case Propagation::kShared:
      prop = MS_SHARED;
      break;
    case Propagation::kUnbindable:
      prop = MS_UNBINDABLE;
      break;
    default:
      break;
  }
  if (prop && mount(nullptr, "/", nullptr, prop | MS_REC, nullptr) != 0)
    return ErrnoStatus(errno, "set rootfs propagation");
  return OkStatus();
}

}  // namespace berth::native
