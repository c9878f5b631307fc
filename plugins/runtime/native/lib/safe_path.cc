#include "plugins/runtime/native/lib/safe_path.h"

#include "common/safe_path.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

namespace berth::native {

Result<int> OpenInRoot(int root_fd, std::string_view path, int flags) {
  if ((flags & ~(O_PATH | O_DIRECTORY | O_CLOEXEC)) != 0 || !(flags & O_PATH)) {
    return InvalidArgument("OpenInRoot supports only O_PATH[|O_DIRECTORY], got flags " +
                           std::to_string(flags) + " for " + std::string(path));
  }
  unsigned resolve = kResolveFollowFinal | ((flags & O_DIRECTORY) ? kResolveDirectory : 0u);
  int fd = ResolveInRoot(root_fd, path, resolve);
  if (fd < 0) return ErrnoStatus(-fd, "resolve " + std::string(path) + " in rootfs");
  return fd;
}

std::pair<std::string, std::string> SplitLast(std::string_view path) {
  std::string p(path);
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  size_t slash = p.rfind('/');
  if (slash == std::string::npos) return {"/", p};
  return {slash == 0 ? "/" : p.substr(0, slash), p.substr(slash + 1)};
}

namespace {

// Lexically cleans an in-root path: "." dropped, ".." never climbs above the root.
std::vector<std::string> CleanComponents(std::string_view path) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t next = path.find('/', pos);
    if (next == std::string_view::npos) next = path.size();
    std::string comp(path.substr(pos, next - pos));
    pos = next + 1;
    if (comp.empty() || comp == ".") continue;
    if (comp == "..") {
      if (!out.empty()) out.pop_back();
      continue;
    }
    out.push_back(comp);
  }
  return out;
}

Status MkdirAllDepth(int root_fd, std::string_view path, mode_t mode, int depth) {
  if (depth > 40) return ErrnoStatus(ELOOP, "mkdir " + std::string(path));
  std::vector<std::string> comps = CleanComponents(path);
  std::string prefix;
  for (size_t i = 0; i < comps.size(); ++i) {
    Result<int> parent = OpenInRoot(root_fd, prefix.empty() ? "/" : prefix, O_PATH | O_DIRECTORY);
    if (!parent.ok()) return parent.status();
    // mkdirat never follows a symlink in the last component.
    int rc = mkdirat(*parent, comps[i].c_str(), mode);
    int err = errno;
    if (rc != 0 && err == EEXIST) {
      char link[4096];
      ssize_t n = readlinkat(*parent, comps[i].c_str(), link, sizeof(link) - 1);
      if (n >= 0) {
        // A symlink (possibly dangling): continue from its target, interpreted inside the
        // root (absolute targets are relative to the rootfs), creating what is missing there.
        link[n] = '\0';
        std::string rest = link[0] == '/' ? std::string(link) : prefix + "/" + link;
        for (size_t j = i + 1; j < comps.size(); ++j) rest += "/" + comps[j];
        close(*parent);
        return MkdirAllDepth(root_fd, rest, mode, depth + 1);
      }
    }
    close(*parent);
    if (rc != 0 && err != EEXIST) return ErrnoStatus(err, "mkdir " + prefix + "/" + comps[i]);
    prefix += "/" + comps[i];
  }
  Result<int> check = OpenInRoot(root_fd, prefix.empty() ? "/" : prefix, O_PATH | O_DIRECTORY);
  if (!check.ok()) return check.status();
  close(*check);
  return OkStatus();
}

}  // namespace

Status MkdirAllInRoot(int root_fd, std::string_view path, mode_t mode) {
  return MkdirAllDepth(root_fd, path, mode, 0);
}

Result<int> EnsureInRoot(int root_fd, std::string_view path, bool directory) {
  Result<int> fd = OpenInRoot(root_fd, path, O_PATH);
  if (fd.ok() || fd.status().code() != StatusCode::kNotFound) return fd;
  if (directory) {
    BERTH_RETURN_IF_ERROR(MkdirAllInRoot(root_fd, path, 0755));
    return OpenInRoot(root_fd, path, O_PATH | O_DIRECTORY);
  }
  auto [parent, name] = SplitLast(path);
  BERTH_RETURN_IF_ERROR(MkdirAllInRoot(root_fd, parent, 0755));
  Result<int> pfd = OpenInRoot(root_fd, parent, O_PATH | O_DIRECTORY);
  if (!pfd.ok()) return pfd.status();
  int f = openat(*pfd, name.c_str(), O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
  int err = errno;
  close(*pfd);
  if (f < 0 && err != EEXIST) return ErrnoStatus(err, "create " + std::string(path));
  if (f >= 0) close(f);
  return OpenInRoot(root_fd, path, O_PATH);
}

std::string FdPath(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

}  // namespace berth::native
