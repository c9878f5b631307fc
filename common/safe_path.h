#pragma once
// Resolving paths INSIDE a root directory without ever escaping it.
//
// A SafeRoot holds an O_PATH fd of a directory and resolves paths as if that directory were "/":
// ".." stops at the root, absolute symlinks are re-rooted, and /proc-style magic links are never
// followed. Results are O_PATH|O_CLOEXEC fds, so callers create and modify things with *at()
// calls relative to an already verified directory fd instead of re-walking a string path that
// something else could have changed. The one resolver berth has: the layer unpacker uses it for
// every entry, the native runtime for every mount target (CVE-2021-30465 class).
//
// Two implementations with the same semantics:
//  - openat2(2) with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS (Linux >= 5.6), preferred;
//  - a userspace fallback, used when openat2 is unavailable (ENOSYS, or EPERM from a seccomp
//    filter): one openat(O_PATH|O_NOFOLLOW) per component, symlinks read with readlinkat and
//    their text re-resolved inside the root, ".." handled on a stack of already opened directory
//    fds (never the kernel's ".."), at most 255 symlinks per resolution (then ELOOP).
// Which one is used is decided once in Open() (probing openat2); ResolverKind forces one (tests).
//
// Threads: a SafeRoot is immutable after Open(); concurrent calls on one object are fine.
// Errors: NOT_FOUND when a component is missing; INVALID_ARGUMENT for ELOOP (symlink budget
// exhausted, a symlink where kNoSymlinks forbids one, a magic link), ENOTDIR, ENAMETOOLONG, NUL
// bytes; others via ErrnoStatus. Messages name the path and the root.

#include <sys/types.h>

#include <string>
#include <string_view>

#include "common/status.h"
#include "common/unique_fd.h"

namespace berth {

enum class ResolverKind {
  kAuto,      // openat2 when the kernel has it, else the fallback
  kOpenat2,   // openat2 only; Open() fails with UNIMPLEMENTED when unavailable
  kFallback,  // the userspace resolver only
};

// Flags for SafeRoot::Resolve and friends (bitwise or).
enum ResolveFlag : unsigned {
  kResolveFollowFinal = 1u << 0,  // follow a symlink in the last component (inside the root)
  kResolveNoSymlinks = 1u << 1,   // refuse any symlink on the way (ELOOP → INVALID_ARGUMENT);
                                  // a final symlink is still returned as itself without
                                  // kResolveFollowFinal
  kResolveDirectory = 1u << 2,    // the result must be a directory (else INVALID_ARGUMENT)
};

class SafeRoot {
 public:
  // Opens `root_path` (trusted: it is the caller's own directory; symlinks in it are followed).
  static Result<SafeRoot> Open(const std::string& root_path,
                               ResolverKind kind = ResolverKind::kAuto);

  SafeRoot(SafeRoot&&) = default;
  SafeRoot& operator=(SafeRoot&&) = default;

  // The root's O_PATH directory fd (owned by this object).
  int fd() const { return root_.get(); }
  const std::string& path() const { return path_; }
  bool uses_fallback() const { return fallback_; }

  // Resolves `path` ("" and "/" name the root) and returns an O_PATH|O_CLOEXEC fd of it. Without
  // kResolveFollowFinal a final symlink is returned as the symlink itself.
  Result<UniqueFd> Resolve(std::string_view path, unsigned flags = 0) const;

  // The directory holding the last component of `path`, plus that component. Trailing slashes
  // are ignored; INVALID_ARGUMENT when the last component is empty, "." or ".." (e.g. the path
  // names the root). Intermediate components follow the rules of Resolve (`flags` may add
  // kResolveNoSymlinks).
  struct Parent {
    UniqueFd dir;
    std::string name;
  };
  Result<Parent> ResolveParent(std::string_view path, unsigned flags = 0) const;

  // Resolves the directory `path`, creating missing components with mkdirat(…, mode) relative
  // to verified parent fds (like mkdir -p; an existing directory is kept as is). Every created
  // directory is inside the root. A dangling symlink on the way is NOT_FOUND, not created
  // through. `flags` may add kResolveNoSymlinks.
  Result<UniqueFd> MkdirAll(std::string_view path, mode_t mode, unsigned flags = 0) const;

 private:
  SafeRoot(UniqueFd root, std::string path, bool fallback)
      : root_(std::move(root)), path_(std::move(path)), fallback_(fallback) {}

  // Returns an fd or -errno.
  int ResolveRaw(std::string_view path, unsigned flags) const;
  Status ErrorFor(int err, std::string_view path) const;

  UniqueFd root_;
  std::string path_;
  bool fallback_ = false;
};

// The userspace resolver on its own (exposed for tests and for SafeRoot): resolves `path`
// under `root_fd` as described above. Returns an O_PATH|O_CLOEXEC fd, or -errno.
int ResolveInRootFallback(int root_fd, std::string_view path, unsigned flags);

// Picks the resolver per call: openat2 when the kernel (and any seccomp filter) allows it, else
// the userspace fallback. For callers that hold a bare root fd rather than a SafeRoot. Returns an
// O_PATH|O_CLOEXEC fd, or -errno.
int ResolveInRoot(int root_fd, std::string_view path, unsigned flags);

// openat2(root_fd, path, O_PATH…, RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS…). Returns an fd or
// -errno (-ENOSYS when the kernel lacks openat2).
int ResolveInRootOpenat2(int root_fd, std::string_view path, unsigned flags);

}  // namespace berth
