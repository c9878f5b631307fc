#include "cri/image/unpack/fs_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/unique_fd.h"

namespace berth {

Result<std::vector<std::string>> ListDirAt(int dir_fd) {
  int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "open directory");
  DIR* d = fdopendir(fd);
  if (d == nullptr) {
    int err = errno;
    close(fd);
    return ErrnoStatus(err, "fdopendir");
  }
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* de = readdir(d)) {
    std::string n = de->d_name;
    if (n != "." && n != "..") names.push_back(std::move(n));
  }
  int err = errno;
  closedir(d);
  if (err != 0) return ErrnoStatus(err, "readdir");
  return names;
}

Status RemoveAllAt(int dir_fd, const std::string& name) {
  struct stat st;
  if (fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return OkStatus();
    return ErrnoStatus(errno, "stat " + name);
  }
  if (!S_ISDIR(st.st_mode)) {
    if (unlinkat(dir_fd, name.c_str(), 0) != 0 && errno != ENOENT) {
      return ErrnoStatus(errno, "unlink " + name);
    }
    return OkStatus();
  }
  UniqueFd child(openat(dir_fd, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!child) return ErrnoStatus(errno, "open " + name);
  Result<std::vector<std::string>> names = ListDirAt(child.get());
  if (!names.ok()) return names.status().Wrap(name);
  for (const std::string& n : *names) {
    Status s = RemoveAllAt(child.get(), n);
    if (!s.ok()) return s.Wrap(name);
  }
  if (unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
    return ErrnoStatus(errno, "rmdir " + name);
  }
  return OkStatus();
}

}  // namespace berth
