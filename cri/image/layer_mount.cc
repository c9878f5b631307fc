#include "cri/image/layer_mount.h"

#include <dirent.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "common/fs.h"

namespace berth::image {
namespace {

struct MountFlags {
  unsigned long flags = 0;
  std::string data;
};

MountFlags ParseOptions(const plugin::v1::Mount& m) {
  MountFlags f;
  for (const std::string& o : m.options()) {
    if (o == "ro")
      f.flags |= MS_RDONLY;
    else if (o == "rw")
      continue;
    else if (o == "bind")
      f.flags |= MS_BIND;
    else if (o == "rbind")
      f.flags |= MS_BIND | MS_REC;
    else if (o == "nosuid")
      f.flags |= MS_NOSUID;
    else if (o == "nodev")
      f.flags |= MS_NODEV;
    else if (o == "noexec")
      f.flags |= MS_NOEXEC;
    else
      f.data += (f.data.empty() ? "" : ",") + o;
  }
  if (m.type() == "bind") f.flags |= MS_BIND;
  return f;
}

}  // namespace

Result<UnpackTarget> AcquireUnpackTarget(const std::vector<plugin::v1::Mount>& mounts,
                                         const std::string& scratch_dir) {
  if (mounts.empty()) return Internal("snapshotter returned no mounts for an unpack");
  if (mounts.size() == 1 && mounts[0].type() == "overlay") {
    for (const std::string& o : mounts[0].options()) {
      if (o.rfind("upperdir=", 0) == 0)
        return UnpackTarget{o.substr(9), WhiteoutMode::kOverlay, ""};
    }
  }
  if (mounts.size() == 1 && mounts[0].type() == "bind") {
    for (const std::string& o : mounts[0].options()) {
      if (o == "ro") return Internal("snapshotter returned a read-only mount for an unpack");
    }
    return UnpackTarget{mounts[0].source(), WhiteoutMode::kDelete, ""};
  }
  BERTH_RETURN_IF_ERROR(MakeDirs(scratch_dir, 0700));
  std::string tmpl = scratch_dir + "/m-XXXXXX";
  if (!::mkdtemp(tmpl.data())) return ErrnoStatus(errno, "create mountpoint under " + scratch_dir);
  for (const plugin::v1::Mount& m : mounts) {
    MountFlags f = ParseOptions(m);
    if (::mount(m.source().c_str(), tmpl.c_str(), m.type().c_str(), f.flags,
                f.data.empty() ? nullptr : f.data.c_str()) != 0) {
      Status s = ErrnoStatus(errno, "mount " + m.type() + " " + m.source() + " on " + tmpl);
      ::umount2(tmpl.c_str(), MNT_DETACH);
      ::rmdir(tmpl.c_str());
      return s;
    }
  }
  return UnpackTarget{tmpl, WhiteoutMode::kDelete, tmpl};
}

Status ReleaseUnpackTarget(const UnpackTarget& target) {
  if (target.mountpoint.empty()) return OkStatus();
  // Several mounts may be stacked on the mountpoint; take them all off.
  while (::umount2(target.mountpoint.c_str(), 0) == 0) {
  }
  if (errno == EBUSY) ::umount2(target.mountpoint.c_str(), MNT_DETACH);
  if (::rmdir(target.mountpoint.c_str()) != 0 && errno != ENOENT) {
    return ErrnoStatus(errno, "remove mountpoint " + target.mountpoint);
  }
  return OkStatus();
}

void CleanScratchMounts(const std::string& scratch_dir) {
  DIR* d = ::opendir(scratch_dir.c_str());
  if (!d) return;
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(d);
  for (const std::string& n : names) {
    (void)ReleaseUnpackTarget({"", WhiteoutMode::kDelete, scratch_dir + "/" + n});
  }
}

}  // namespace berth::image
