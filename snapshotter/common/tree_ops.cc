#include "snapshotter/common/tree_ops.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <set>
#include <utility>
#include <vector>

#include "common/unique_fd.h"

namespace berth::snapshotter {
namespace {

// Names in the directory `fd` (borrowed), "." and ".." excluded.
Result<std::vector<std::string>> ListDir(int fd, const std::string& where) {
  int dup = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return ErrnoStatus(errno, "dup " + where);
  DIR* d = ::fdopendir(dup);
  if (d == nullptr) {
    int err = errno;
    ::close(dup);
    return ErrnoStatus(err, "opendir " + where);
  }
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(std::move(n));
    errno = 0;
  }
  int err = errno;
  ::closedir(d);
  if (err != 0) return ErrnoStatus(err, "readdir " + where);
  return names;
}

struct UsageWalk {
  dev_t dev = 0;
  DiskUsage usage;
  std::set<std::pair<dev_t, ino_t>> linked;  // inodes with st_nlink > 1 already counted

  void Count(const struct stat& st) {
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1 && !linked.emplace(st.st_dev, st.st_ino).second) {
      return;
    }
    usage.bytes += static_cast<int64_t>(st.st_blocks) * 512;
    usage.inodes += 1;
  }

  Status Dir(int fd, const std::string& where) {
    Result<std::vector<std::string>> names = ListDir(fd, where);
    if (!names.ok()) return names.status();
    for (const std::string& n : *names) {
      std::string path = where + "/" + n;
      struct stat st {};
      if (::fstatat(fd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) continue;  // removed while we walk
        return ErrnoStatus(errno, "stat " + path);
      }
      Count(st);
      if (!S_ISDIR(st.st_mode) || st.st_dev != dev) continue;
      UniqueFd child(::openat(fd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!child) {
        if (errno == ENOENT) continue;
        return ErrnoStatus(errno, "open " + path);
      }
      BERTH_RETURN_IF_ERROR(Dir(child.get(), path));
    }
    return OkStatus();
  }
};

// Empties the directory `fd` (borrowed) on device `dev`.
Status EmptyDir(int fd, dev_t dev, const std::string& where) {
  Result<std::vector<std::string>> names = ListDir(fd, where);
  if (!names.ok()) return names.status();
  for (const std::string& n : *names) {
    std::string path = where + "/" + n;
    if (::unlinkat(fd, n.c_str(), 0) == 0 || errno == ENOENT) continue;
    if (errno != EISDIR) return ErrnoStatus(errno, "remove " + path);
    UniqueFd child(::openat(fd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!child) return ErrnoStatus(errno, "open " + path);
    struct stat st {};
    if (::fstat(child.get(), &st) != 0) return ErrnoStatus(errno, "stat " + path);
    if (st.st_dev != dev)
      return Status(StatusCode::kFailedPrecondition, path + " is a mount point");
    BERTH_RETURN_IF_ERROR(EmptyDir(child.get(), dev, path));
    child.reset();
    if (::unlinkat(fd, n.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
      return ErrnoStatus(errno, "remove " + path);
    }
  }
  return OkStatus();
}

}  // namespace

Result<DiskUsage> TreeUsage(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_DIRECTORY));
  if (!fd) return ErrnoStatus(errno, "open " + path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, "stat " + path);
  UsageWalk walk;
  walk.dev = st.st_dev;
  walk.Count(st);
  BERTH_RETURN_IF_ERROR(walk.Dir(fd.get(), path));
  return walk.usage;
}

Status RemoveTree(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    return errno == ENOENT ? OkStatus() : ErrnoStatus(errno, "stat " + path);
  }
  if (S_ISDIR(st.st_mode)) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_DIRECTORY));
    if (!fd) return ErrnoStatus(errno, "open " + path);
    BERTH_RETURN_IF_ERROR(EmptyDir(fd.get(), st.st_dev, path));
    if (::rmdir(path.c_str()) != 0 && errno != ENOENT) return ErrnoStatus(errno, "remove " + path);
    return OkStatus();
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return ErrnoStatus(errno, "remove " + path);
  return OkStatus();
}

}  // namespace berth::snapshotter
