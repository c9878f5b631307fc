// SafeRoot: picks a resolver once, turns -errno into Status, and builds ResolveParent and
// MkdirAll on top of the raw resolvers (resolve_in_root.cc).

#include "common/safe_path.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

namespace berth {
namespace {

std::string_view StripTrailingSlashes(std::string_view p) {
  while (p.size() > 1 && p.back() == '/') p.remove_suffix(1);
  return p;
}

}  // namespace

Result<SafeRoot> SafeRoot::Open(const std::string& root_path, ResolverKind kind) {
  UniqueFd fd(open(root_path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return ErrnoStatus(errno, "open root " + root_path);
  bool fallback = kind == ResolverKind::kFallback;
  if (kind != ResolverKind::kFallback) {
    int probe = ResolveInRootOpenat2(fd.get(), "", kResolveDirectory);
    if (probe >= 0) {
      close(probe);
    } else if (probe == -ENOSYS || probe == -EPERM) {
      // EPERM: seccomp profiles written before openat2 existed deny unknown syscalls that way.
      if (kind == ResolverKind::kOpenat2) {
        return Unimplemented("openat2 is not available: " + std::string(strerror(-probe)));
      }
      fallback = true;
    } else {
      return ErrnoStatus(-probe, "probe openat2 on " + root_path);
    }
  }
  return SafeRoot(std::move(fd), root_path, fallback);
}

int ResolveInRoot(int root_fd, std::string_view path, unsigned flags) {
  int fd = ResolveInRootOpenat2(root_fd, path, flags);
  // EPERM: seccomp profiles written before openat2 existed deny unknown syscalls that way.
  if (fd == -ENOSYS || fd == -EPERM) fd = ResolveInRootFallback(root_fd, path, flags);
  return fd;
}

int SafeRoot::ResolveRaw(std::string_view path, unsigned flags) const {
  return fallback_ ? ResolveInRootFallback(root_.get(), path, flags)
                   : ResolveInRootOpenat2(root_.get(), path, flags);
}

Status SafeRoot::ErrorFor(int err, std::string_view path) const {
  std::string what = "resolve \"" + std::string(path) + "\" in " + path_;
  switch (err) {
    case ENOENT:
      return NotFound(what + ": " + strerror(err));
    case ELOOP:
      return InvalidArgument(what +
                             ": symlink not allowed here, a magic link, or too many "
                             "levels of symlinks");
    case EXDEV:  // openat2 reports escapes it refused this way
    case ENOTDIR:
    case ENAMETOOLONG:
    case EINVAL:
      return InvalidArgument(what + ": " + strerror(err));
    default:
      return ErrnoStatus(err, what);
  }
}

Result<UniqueFd> SafeRoot::Resolve(std::string_view path, unsigned flags) const {
  int fd = ResolveRaw(path, flags);
  if (fd < 0) return ErrorFor(-fd, path);
  return UniqueFd(fd);
}

Result<SafeRoot::Parent> SafeRoot::ResolveParent(std::string_view path, unsigned flags) const {
  std::string_view p = StripTrailingSlashes(path);
  size_t slash = p.rfind('/');
  std::string_view dir = slash == std::string_view::npos ? std::string_view() : p.substr(0, slash);
  std::string_view name = slash == std::string_view::npos ? p : p.substr(slash + 1);
  if (name.empty() || name == "." || name == ".." || name.find('\0') != std::string_view::npos) {
    return InvalidArgument("path \"" + std::string(path) + "\" does not end in a file name");
  }
  int fd = ResolveRaw(dir, (flags & kResolveNoSymlinks) | kResolveFollowFinal | kResolveDirectory);
  if (fd < 0) return ErrorFor(-fd, dir);
  return Parent{UniqueFd(fd), std::string(name)};
}

Result<UniqueFd> SafeRoot::MkdirAll(std::string_view path, mode_t mode, unsigned flags) const {
  const unsigned dir_flags = (flags & kResolveNoSymlinks) | kResolveFollowFinal | kResolveDirectory;
  int fd = ResolveRaw(path, dir_flags);
  if (fd >= 0) return UniqueFd(fd);
  if (fd != -ENOENT) return ErrorFor(-fd, path);

  // Walk from the root. A plain component that is a directory is opened relative to the
  // current verified fd (cheap, and what a full resolution would give); anything else (a
  // symlink, "..") is resolved from the root for the whole prefix so that the in-root rules
  // apply; a missing component is created with mkdirat on the current fd.
  UniqueFd cur(openat(root_.get(), ".", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!cur) return ErrnoStatus(errno, "open root " + path_);
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string comp(path.substr(i, j - i));
    std::string_view prefix = path.substr(0, j);
    i = j + 1;
    if (comp.empty() || comp == ".") continue;
    if (comp != "..") {
      UniqueFd next(openat(cur.get(), comp.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
      if (!next && errno == ENOENT) {
        if (mkdirat(cur.get(), comp.c_str(), mode) != 0 && errno != EEXIST) {
          return ErrnoStatus(errno, "mkdir \"" + std::string(prefix) + "\" in " + path_);
        }
        next.reset(openat(cur.get(), comp.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
      }
      if (!next) return ErrorFor(errno, prefix);
      struct stat st;
      if (fstat(next.get(), &st) != 0) return ErrnoStatus(errno, "stat " + std::string(prefix));
      if (S_ISDIR(st.st_mode)) {
        cur = std::move(next);
        continue;
      }
      if (!S_ISLNK(st.st_mode)) return ErrorFor(ENOTDIR, prefix);
    }
    int r = ResolveRaw(prefix, dir_flags);
    if (r < 0) return ErrorFor(-r, prefix);
    cur.reset(r);
  }
  return cur;
}

}  // namespace berth
