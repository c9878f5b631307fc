// The two raw resolvers behind SafeRoot: openat2(RESOLVE_IN_ROOT) and the userspace fallback.
// Both return an O_PATH|O_CLOEXEC fd or -errno and never touch the filesystem.

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <deque>
#include <string>
#include <vector>

#include "common/safe_path.h"

namespace berth {
namespace {

// Symlinks followed per resolution before ELOOP (the kernel's own limit is 40; the OCI tools'
// userspace resolvers use 255).
constexpr int kSymlinkBudget = 255;

bool HasNul(std::string_view s) { return s.find('\0') != std::string_view::npos; }

// Appends the non-empty, non-"." components of `path` to the front of `todo` in order.
void PushFrontComponents(std::string_view path, std::deque<std::string>* todo) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view c = path.substr(i, j - i);
    if (!c.empty() && c != ".") parts.emplace_back(c);
    i = j + 1;
  }
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) todo->push_front(std::move(*it));
}

}  // namespace

int ResolveInRootOpenat2(int root_fd, std::string_view path, unsigned flags) {
#ifdef SYS_openat2
  if (HasNul(path)) return -EINVAL;
  if (path.size() >= PATH_MAX) return -ENAMETOOLONG;
  const std::string p(path);
  const char* cpath = p.empty() ? "." : p.c_str();
  struct open_how how = {};
  how.flags = O_PATH | O_CLOEXEC;
  if (!(flags & kResolveFollowFinal)) how.flags |= O_NOFOLLOW;
  if (flags & kResolveDirectory) how.flags |= O_DIRECTORY;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  if (flags & kResolveNoSymlinks) how.resolve |= RESOLVE_NO_SYMLINKS;
  // EAGAIN: a concurrent rename raced with ".." handling; the kernel asks us to retry.
  for (int attempt = 0; attempt < 32; ++attempt) {
    long fd = syscall(SYS_openat2, root_fd, cpath, &how, sizeof(how));
    if (fd >= 0) return static_cast<int>(fd);
    if (errno != EAGAIN) return -errno;
  }
  return -EAGAIN;
#else
  (void)root_fd, (void)path, (void)flags;
  return -ENOSYS;
#endif
}

int ResolveInRootFallback(int root_fd, std::string_view path, unsigned flags) {
  if (HasNul(path)) return -EINVAL;
  if (path.size() >= PATH_MAX) return -ENAMETOOLONG;
  // As in the kernel, a trailing "/" or "/." follows a final symlink and demands a directory.
  if (path.ends_with('/') || path.ends_with("/.") || path == ".") {
    flags |= kResolveFollowFinal | kResolveDirectory;
  }
  std::deque<std::string> todo;
  PushFrontComponents(path, &todo);
  // stack.back() is the current directory; empty means the root. Keeping the fds (not names)
  // makes ".." independent of renames happening meanwhile and clamps it at the root.
  std::vector<UniqueFd> stack;
  auto cur = [&] { return stack.empty() ? root_fd : stack.back().get(); };
  int budget = kSymlinkBudget;
  UniqueFd final_link;  // a final symlink returned as itself
  while (!todo.empty()) {
    std::string c = std::move(todo.front());
    todo.pop_front();
    if (c == "..") {
      if (!stack.empty()) stack.pop_back();
      continue;
    }
    UniqueFd fd(openat(cur(), c.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) return -errno;
    struct stat st;
    if (fstat(fd.get(), &st) != 0) return -errno;
    bool last = todo.empty();
    if (S_ISLNK(st.st_mode)) {
      if (last && !(flags & kResolveFollowFinal)) {
        final_link = std::move(fd);
        break;
      }
      if ((flags & kResolveNoSymlinks) || --budget < 0) return -ELOOP;
      // The link's text, never the kernel's interpretation of it: a magic link such as
      // /proc/self/root reads as "/" and is re-resolved inside our root like any other.
      std::string target(PATH_MAX, '\0');
      ssize_t n = readlinkat(fd.get(), "", target.data(), target.size());
      if (n < 0) return -errno;
      if (static_cast<size_t>(n) >= target.size()) return -ENAMETOOLONG;
      target.resize(n);
      if (target.empty()) return -ENOENT;
      if (target[0] == '/') stack.clear();
      PushFrontComponents(target, &todo);
      continue;
    }
    if (!last && !S_ISDIR(st.st_mode)) return -ENOTDIR;
    stack.push_back(std::move(fd));
  }
  if (final_link) {
    if (flags & kResolveDirectory) return -ENOTDIR;
    return final_link.release();
  }
  if (stack.empty()) {
    int fd = openat(root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    return fd >= 0 ? fd : -errno;
  }
  if (flags & kResolveDirectory) {
    struct stat st;
    if (fstat(stack.back().get(), &st) != 0) return -errno;
    if (!S_ISDIR(st.st_mode)) return -ENOTDIR;
  }
  return stack.back().release();
}

}  // namespace berth
