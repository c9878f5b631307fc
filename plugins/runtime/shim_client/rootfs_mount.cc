#include "plugins/runtime/shim_client/rootfs_mount.h"

#include <errno.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "common/fs.h"

namespace berth::runtime_shim {
namespace {

// Mount options that are flags, not filesystem data. A plain array: nothing on the heap that
// would outlive the plugin library.
struct FlagOption {
  const char* name;
  bool clear;
  unsigned long flag;
};
constexpr FlagOption kFlagOptions[] = {
    {"ro", false, MS_RDONLY},       {"rw", true, MS_RDONLY},
    {"nosuid", false, MS_NOSUID},   {"suid", true, MS_NOSUID},
    {"nodev", false, MS_NODEV},     {"dev", true, MS_NODEV},
    {"noexec", false, MS_NOEXEC},   {"exec", true, MS_NOEXEC},
    {"bind", false, MS_BIND},       {"rbind", false, MS_BIND | MS_REC},
    {"noatime", false, MS_NOATIME}, {"relatime", false, MS_RELATIME},
};

const FlagOption* FindFlag(const std::string& opt) {
  for (const FlagOption& f : kFlagOptions) {
    if (opt == f.name) return &f;
  }
  return nullptr;
}

Status MountOne(const plugin::v1::Mount& m, const std::string& target) {
  unsigned long flags = 0;
  std::string data;
  for (const std::string& opt : m.options()) {
    if (const FlagOption* f = FindFlag(opt)) {
      if (f->clear) {
        flags &= ~f->flag;
      } else {
        flags |= f->flag;
      }
    } else {
      if (!data.empty()) data += ',';
      data += opt;
    }
  }
  std::string type = m.type();
  if (type == "bind" || type == "rbind") {
    flags |= MS_BIND | (type == "rbind" ? MS_REC : 0);
    type.clear();
  }
  if (flags & MS_BIND) {
    if (mount(m.source().c_str(), target.c_str(), nullptr, flags & (MS_BIND | MS_REC), nullptr)) {
      return ErrnoStatus(errno, "bind mount " + m.source() + " on " + target);
    }
    if (flags & MS_RDONLY &&
        mount(nullptr, target.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr)) {
      return ErrnoStatus(errno, "remount " + target + " read-only");
    }
    return OkStatus();
  }
  if (mount(m.source().c_str(), target.c_str(), type.c_str(), flags,
            data.empty() ? nullptr : data.c_str()) != 0) {
    return ErrnoStatus(errno, "mount " + type + " on " + target);
  }
  return OkStatus();
}

}  // namespace

Status MountRootfs(const google::protobuf::RepeatedPtrField<plugin::v1::Mount>& mounts,
                   const std::string& target) {
  if (mounts.empty()) return OkStatus();
  BERTH_RETURN_IF_ERROR(MakeDirs(target, 0755));
  for (const plugin::v1::Mount& m : mounts) {
    Status s = MountOne(m, target);
    if (!s.ok()) {
      (void)UnmountRootfs(target);
      return s;
    }
  }
  return OkStatus();
}

Status UnmountRootfs(const std::string& target) {
  for (int i = 0; i < 64; ++i) {
    if (umount2(target.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0) {
      if (errno == EINVAL || errno == ENOENT) return OkStatus();  // nothing (more) mounted
      return ErrnoStatus(errno, "unmount " + target);
    }
  }
  return Internal("too many mounts stacked on " + target);
}

}  // namespace berth::runtime_shim
