#include "snapshotter/common/tree_copy.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <utility>
#include <vector>

#include "common/unique_fd.h"

namespace berth::snapshotter {
namespace {

Status CopyXattrs(const std::string& src, const std::string& dst, bool is_symlink) {
  ssize_t size = ::llistxattr(src.c_str(), nullptr, 0);
  if (size < 0) {
    return errno == ENOTSUP ? OkStatus() : ErrnoStatus(errno, "list xattrs of " + src);
  }
  if (size == 0) return OkStatus();
  std::string names(static_cast<size_t>(size), '\0');
  size = ::llistxattr(src.c_str(), names.data(), names.size());
  if (size < 0) return ErrnoStatus(errno, "list xattrs of " + src);
  names.resize(static_cast<size_t>(size));
  for (size_t pos = 0; pos < names.size();) {
    std::string name = names.c_str() + pos;
    pos += name.size() + 1;
    if (name.empty()) continue;
    ssize_t len = ::lgetxattr(src.c_str(), name.c_str(), nullptr, 0);
    if (len < 0) return ErrnoStatus(errno, "read xattr " + name + " of " + src);
    std::string value(static_cast<size_t>(len), '\0');
    len = ::lgetxattr(src.c_str(), name.c_str(), value.data(), value.size());
    if (len < 0) return ErrnoStatus(errno, "read xattr " + name + " of " + src);
    if (::lsetxattr(dst.c_str(), name.c_str(), value.data(), static_cast<size_t>(len), 0) != 0) {
      // The kernel allows user.* only on regular files and directories; a symlink's other
      // attributes (e.g. security.selinux) are the system's to set.
      if (is_symlink && (errno == EPERM || errno == ENOTSUP)) continue;
      return ErrnoStatus(errno, "set xattr " + name + " on " + dst);
    }
  }
  return OkStatus();
}

// Owner, mode, xattrs, times, in that order (chown clears setuid bits; xattrs such as
// security.capability are cleared by chown too; times last since the others change ctime only).
Status CopyMetadata(const std::string& src, const std::string& dst, const struct stat& st) {
  if (::lchown(dst.c_str(), st.st_uid, st.st_gid) != 0) return ErrnoStatus(errno, "chown " + dst);
  if (!S_ISLNK(st.st_mode) && ::chmod(dst.c_str(), st.st_mode & 07777) != 0) {
    return ErrnoStatus(errno, "chmod " + dst);
  }
  BERTH_RETURN_IF_ERROR(CopyXattrs(src, dst, S_ISLNK(st.st_mode)));
  struct timespec times[2] = {st.st_atim, st.st_mtim};
  if (::utimensat(AT_FDCWD, dst.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoStatus(errno, "set times of " + dst);
  }
  return OkStatus();
}

Status CopyData(const std::string& src, const std::string& dst, const struct stat& st) {
  UniqueFd in(::open(src.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!in) return ErrnoStatus(errno, "open " + src);
  UniqueFd out(::open(dst.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out) return ErrnoStatus(errno, "create " + dst);
  if (st.st_size == 0 || ::ioctl(out.get(), FICLONE, in.get()) == 0) return OkStatus();
  off_t left = st.st_size;
  bool use_cfr = true;
  while (left > 0) {
    ssize_t n = -1;
    if (use_cfr) {
      n = ::copy_file_range(in.get(), nullptr, out.get(), nullptr, static_cast<size_t>(left), 0);
      if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL)) {
        use_cfr = false;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoStatus(errno, "copy " + src);
      if (n == 0) break;  // file shrank under us
    } else {
      char buf[1 << 16];
      n = ::read(in.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoStatus(errno, "read " + src);
      if (n == 0) break;
      for (ssize_t off = 0; off < n;) {
        ssize_t w = ::write(out.get(), buf + off, static_cast<size_t>(n - off));
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return ErrnoStatus(errno, "write " + dst);
        off += w;
      }
    }
    left -= n;
  }
  return OkStatus();
}

class Copier {
 public:
  explicit Copier(dev_t dev) : dev_(dev) {}

  // Copies the entry `src` (already lstat()ed into `st`) to the new path `dst`.
  Status Entry(const std::string& src, const std::string& dst, const struct stat& st) {
    if (S_ISDIR(st.st_mode)) return Dir(src, dst, st);
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
      auto it = links_.find({st.st_dev, st.st_ino});
      if (it != links_.end()) {
        if (::link(it->second.c_str(), dst.c_str()) != 0) return ErrnoStatus(errno, "link " + dst);
        return OkStatus();
      }
    }
    if (S_ISREG(st.st_mode)) {
      BERTH_RETURN_IF_ERROR(CopyData(src, dst, st));
    } else if (S_ISLNK(st.st_mode)) {
      std::string target(static_cast<size_t>(st.st_size > 0 ? st.st_size : 4096) + 1, '\0');
      ssize_t n = ::readlink(src.c_str(), target.data(), target.size());
      if (n < 0) return ErrnoStatus(errno, "readlink " + src);
      target.resize(static_cast<size_t>(n));
      if (::symlink(target.c_str(), dst.c_str()) != 0) return ErrnoStatus(errno, "symlink " + dst);
    } else {  // device, FIFO, socket
      if (::mknod(dst.c_str(), st.st_mode & (S_IFMT | 07777), st.st_rdev) != 0) {
        return ErrnoStatus(errno, "mknod " + dst);
      }
    }
    BERTH_RETURN_IF_ERROR(CopyMetadata(src, dst, st));
    if (st.st_nlink > 1) links_.emplace(std::make_pair(st.st_dev, st.st_ino), dst);
    return OkStatus();
  }

 private:
  Status Dir(const std::string& src, const std::string& dst, const struct stat& st) {
    if (::mkdir(dst.c_str(), 0700) != 0) return ErrnoStatus(errno, "mkdir " + dst);
    if (st.st_dev == dev_) {
      std::vector<std::string> names;
      DIR* d = ::opendir(src.c_str());
      if (d == nullptr) return ErrnoStatus(errno, "opendir " + src);
      errno = 0;
      while (struct dirent* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") names.push_back(std::move(n));
        errno = 0;
      }
      int err = errno;
      ::closedir(d);
      if (err != 0) return ErrnoStatus(err, "readdir " + src);
      for (const std::string& n : names) {
        std::string s = src + "/" + n;
        struct stat cst {};
        if (::lstat(s.c_str(), &cst) != 0) return ErrnoStatus(errno, "stat " + s);
        BERTH_RETURN_IF_ERROR(Entry(s, dst + "/" + n, cst));
      }
    }
    return CopyMetadata(src, dst, st);  // after the children, which change its mtime
  }

  dev_t dev_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;  // first copy of each linked inode
};

}  // namespace

Status CopyTree(const std::string& src, const std::string& dst) {
  struct stat st {};
  if (::lstat(src.c_str(), &st) != 0) return ErrnoStatus(errno, "stat " + src);
  if (!S_ISDIR(st.st_mode)) return InvalidArgument(src + " is not a directory");
  return Copier(st.st_dev).Entry(src, dst, st).Wrap("copy " + src + " to " + dst);
}

}  // namespace berth::snapshotter
