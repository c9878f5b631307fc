#include "cri/pod/pod_namespaces.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <thread>
#include <vector>

#include "common/fs.h"

namespace berth {
namespace {

constexpr long kNsfsMagic = 0x6e736673;  // NSFS_MAGIC (linux/magic.h)

// umount that treats "not mounted" and "no such file" as done.
Status Unmount(const std::string& path) {
  if (::umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
    return ErrnoStatus(errno, "unmount " + path);
  }
  return OkStatus();
}

Status MakeEmptyFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0400);
  if (fd < 0) return ErrnoStatus(errno, "create " + path);
  ::close(fd);
  return OkStatus();
}

struct Kind {
  const char* name;
  int flag;
};

}  // namespace

Status CreatePodNamespaces(const PodNamespaceRequest& req) {
  std::vector<Kind> kinds;
  if (req.net) kinds.push_back({"net", CLONE_NEWNET});
  if (req.ipc) kinds.push_back({"ipc", CLONE_NEWIPC});
  if (req.uts) kinds.push_back({"uts", CLONE_NEWUTS});
  BERTH_RETURN_IF_ERROR(MakeDirs(req.dir, 0700));
  if (kinds.empty()) return OkStatus();
  if (::mount(req.dir.c_str(), req.dir.c_str(), nullptr, MS_BIND, nullptr) != 0) {
    return ErrnoStatus(errno, "bind-mount " + req.dir + " onto itself");
  }
  if (::mount(nullptr, req.dir.c_str(), nullptr, MS_PRIVATE, nullptr) != 0) {
    Status s = ErrnoStatus(errno, "make " + req.dir + " private");
    (void)Unmount(req.dir);
    return s;
  }
  int flags = 0;
  for (const Kind& k : kinds) {
    flags |= k.flag;
    Status s = MakeEmptyFile(req.dir + "/" + k.name);
    if (!s.ok()) return s;
  }
  // unshare() moves only the calling thread into the new namespaces (net, ipc and uts are per
  // thread), so a throw-away thread does it and berthd's own threads stay where they are. The
  // bind mounts keep the namespaces alive once the thread is gone.
  Status result;
  std::thread worker([&] {
    if (::unshare(flags) != 0) {
      result = ErrnoStatus(errno, "unshare pod namespaces");
      return;
    }
    if (req.uts && !req.hostname.empty() &&
        ::sethostname(req.hostname.data(), req.hostname.size()) != 0) {
      result = ErrnoStatus(errno, "set hostname \"" + req.hostname + "\"");
      return;
    }
    for (const Kind& k : kinds) {
      std::string src = std::string("/proc/thread-self/ns/") + k.name;
      std::string dst = req.dir + "/" + k.name;
      if (::mount(src.c_str(), dst.c_str(), nullptr, MS_BIND, nullptr) != 0) {
        result = ErrnoStatus(errno, "bind-mount " + src + " onto " + dst);
        return;
      }
    }
  });
  worker.join();
  if (!result.ok()) {
    for (const Kind& k : kinds) (void)Unmount(req.dir + "/" + k.name);
  }
  return result;
}

Status ReleaseNamespaceFile(const std::string& path) {
  if (path.empty()) return OkStatus();
  BERTH_RETURN_IF_ERROR(Unmount(path));
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return ErrnoStatus(errno, "remove " + path);
  return OkStatus();
}

Status DestroyPodNamespaces(const std::string& dir) {
  for (const char* k : {"net", "ipc", "uts"}) {
    BERTH_RETURN_IF_ERROR(ReleaseNamespaceFile(dir + "/" + k));
  }
  BERTH_RETURN_IF_ERROR(Unmount(dir));
  if (::rmdir(dir.c_str()) != 0 && errno != ENOENT) return ErrnoStatus(errno, "remove " + dir);
  return OkStatus();
}

bool IsNamespaceMount(const std::string& path) {
  struct statfs fs;
  return !path.empty() && ::statfs(path.c_str(), &fs) == 0 &&
         static_cast<long>(fs.f_type) == kNsfsMagic;
}

}  // namespace berth
