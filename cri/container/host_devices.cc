#include "cri/container/host_devices.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <set>

namespace berth::container {
namespace {

void Walk(const std::string& dir, const std::string& container_dir, int depth,
          std::vector<HostDevice>& out) {
  static const std::set<std::string> kSkipDirs = {"pts", "shm", "mqueue", "fd", ".lxc", ".udev"};
  static const std::set<std::string> kSkipNodes = {"console", "ptmx"};
  if (depth > 8) return;  // /dev is shallow; guards against a pathological tree
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat st {};
    if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      if (depth == 0 && kSkipDirs.count(name)) continue;
      Walk(dir + "/" + name, container_dir + "/" + name, depth + 1, out);
      continue;
    }
    if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode)) continue;
    if (depth == 0 && kSkipNodes.count(name)) continue;
    out.push_back({container_dir + "/" + name, S_ISBLK(st.st_mode) ? 'b' : 'c',
                   static_cast<int64_t>(major(st.st_rdev)), static_cast<int64_t>(minor(st.st_rdev)),
                   static_cast<mode_t>(st.st_mode & 07777), st.st_uid, st.st_gid});
  }
  closedir(d);
}

}  // namespace

std::vector<HostDevice> HostDevices(const std::string& dev_dir) {
  std::vector<HostDevice> out;
  Walk(dev_dir, "/dev", 0, out);
  std::sort(out.begin(), out.end(),
            [](const HostDevice& a, const HostDevice& b) { return a.path < b.path; });
  return out;
}

}  // namespace berth::container
