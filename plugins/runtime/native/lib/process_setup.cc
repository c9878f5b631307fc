#include "plugins/runtime/native/lib/process_setup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <climits>

namespace berth::native {

Status SetupStdio(int in, int out, int err) {
  int src[3] = {in, out, err};
  int tmp[3];
  // Move everything above 2 first, so that dup2 into 0..2 cannot clobber a source.
  for (int i = 0; i < 3; ++i) {
    int fd = src[i] >= 0 ? src[i] : open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus(errno, "open /dev/null");
    tmp[i] = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (tmp[i] < 0) return ErrnoStatus(errno, "dup stdio");
  }
  for (int i = 0; i < 3; ++i) {
    if (dup2(tmp[i], i) < 0) return ErrnoStatus(errno, "dup2 stdio");
    close(tmp[i]);
  }
  return OkStatus();
}

Status CloseFdsExcept(std::vector<int> keep) {
  std::sort(keep.begin(), keep.end());
  unsigned lo = 3;
  bool fallback = false;
  for (size_t i = 0; i <= keep.size() && !fallback; ++i) {
    unsigned hi = i < keep.size() ? static_cast<unsigned>(keep[i]) : UINT_MAX;
    if (i < keep.size() && keep[i] < 3) continue;
    if (hi > lo && syscall(SYS_close_range, lo, hi - 1, 0) != 0) fallback = true;
    lo = hi + 1;
  }
  if (fallback) {
    DIR* d = opendir("/proc/self/fd");
    if (!d) return ErrnoStatus(errno, "open /proc/self/fd");
    std::vector<int> fds;
    while (dirent* e = readdir(d)) {
      int fd = atoi(e->d_name);
      if (fd >= 3 && fd != dirfd(d) && !std::binary_search(keep.begin(), keep.end(), fd))
        fds.push_back(fd);
    }
    closedir(d);
    for (int fd : fds) close(fd);
  }
  for (int fd : keep)
    if (fd >= 3) fcntl(fd, F_SETFD, FD_CLOEXEC);
  return OkStatus();
}

void ResetSignals() {
  struct sigaction sa {};
  sa.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    sigaction(sig, &sa, nullptr);  // fails harmlessly for the reserved RT signals
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

Status ApplyRlimits(const std::vector<Rlimit>& rlimits) {
  for (const Rlimit& r : rlimits) {
    rlimit lim{r.soft, r.hard};
    if (setrlimit(r.resource, &lim) != 0)
      return ErrnoStatus(errno, "setrlimit " + std::to_string(r.resource));
  }
  return OkStatus();
}

namespace {

Result<std::vector<cap_value_t>> CapValues(const std::vector<std::string>& names) {
  std::vector<cap_value_t> out;
  for (const std::string& n : names) {
    cap_value_t v;
    if (cap_from_name(n.c_str(), &v) != 0) return InvalidArgument("unknown capability " + n);
    // Capabilities newer than the running kernel cannot be set; skip them like runc does.
    if (v <= cap_max_bits() - 1) out.push_back(v);
  }
  return out;
}

}  // namespace

Status DropBoundingSet(const Capabilities& caps) {
  Result<std::vector<cap_value_t>> keep = CapValues(caps.bounding);
  if (!keep.ok()) return keep.status();
  for (cap_value_t c = 0; c < static_cast<cap_value_t>(cap_max_bits()); ++c) {
    if (std::find(keep->begin(), keep->end(), c) != keep->end()) continue;
    if (cap_drop_bound(c) != 0 && errno != EINVAL) return ErrnoStatus(errno, "drop bounding cap");
  }
  return OkStatus();
}

Status SwitchUser(const User& user) {
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) return ErrnoStatus(errno, "PR_SET_KEEPCAPS");
  // setgroups is refused (EPERM) in a user namespace whose setgroups is denied; the spec then
  // cannot ask for additional groups anyway.
  if (setgroups(user.additional_gids.size(), user.additional_gids.data()) != 0 &&
      !(errno == EPERM && user.additional_gids.empty()))
    return ErrnoStatus(errno, "setgroups");
  if (setresgid(user.gid, user.gid, user.gid) != 0)
    return ErrnoStatus(errno, "setresgid " + std::to_string(user.gid));
  if (setresuid(user.uid, user.uid, user.uid) != 0)
    return ErrnoStatus(errno, "setresuid " + std::to_string(user.uid));
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) return ErrnoStatus(errno, "PR_SET_KEEPCAPS");
  return OkStatus();
}

Status ApplyCapabilities(const std::optional<Capabilities>& caps) {
  Capabilities c = caps.value_or(Capabilities{});
  cap_t state = cap_init();  // all clear
  if (!state) return ErrnoStatus(errno, "cap_init");
  struct Set {
    const std::vector<std::string>* names;
    cap_flag_t flag;
  } sets[] = {{&c.effective, CAP_EFFECTIVE},
              {&c.permitted, CAP_PERMITTED},
              {&c.inheritable, CAP_INHERITABLE}};
  for (const Set& s : sets) {
    Result<std::vector<cap_value_t>> v = CapValues(*s.names);
    if (!v.ok()) {
      cap_free(state);
      return v.status();
    }
    if (!v->empty() && cap_set_flag(state, s.flag, v->size(), v->data(), CAP_SET) != 0) {
      cap_free(state);
      return ErrnoStatus(errno, "cap_set_flag");
    }
  }
  int rc = cap_set_proc(state);
  int err = errno;
  cap_free(state);
  if (rc != 0) return ErrnoStatus(err, "capset");
  if (cap_reset_ambient() != 0 && errno != EINVAL) return ErrnoStatus(errno, "reset ambient caps");
  Result<std::vector<cap_value_t>> amb = CapValues(c.ambient);
  if (!amb.ok()) return amb.status();
  for (cap_value_t a : *amb)
    // Raising an ambient cap needs it in permitted and inheritable; like runc, skip otherwise.
    if (cap_set_ambient(a, CAP_SET) != 0 && errno != EPERM)
      return ErrnoStatus(errno, "raise ambient cap");
  return OkStatus();
}

Status SetNoNewPrivs() {
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return ErrnoStatus(errno, "PR_SET_NO_NEW_PRIVS");
  return OkStatus();
}

Status ChangeDir(const std::string& cwd) {
  if (chdir(cwd.c_str()) != 0) return ErrnoStatus(errno, "chdir to cwd " + cwd);
  // getcwd reports a directory outside our root as "(unreachable)/…" (or fails with ENOENT on
  // old libcs): refuse to run there.
  char buf[PATH_MAX];
  if (!getcwd(buf, sizeof(buf)) || buf[0] != '/')
    return PermissionDenied("cwd " + cwd + " resolves outside the container root");
  return OkStatus();
}

Result<std::string> LookPath(const std::string& file, const std::vector<std::string>& env) {
  auto executable = [](const std::string& p) {
    struct stat st;
    return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(p.c_str(), X_OK) == 0;
  };
  if (file.find('/') != std::string::npos) {
    if (!executable(file)) return NotFound("executable " + file + " not found or not executable");
    return file;
  }
  std::string path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (const std::string& e : env)
    if (e.rfind("PATH=", 0) == 0) path = e.substr(5);
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t next = path.find(':', pos);
    if (next == std::string::npos) next = path.size();
    std::string dir = path.substr(pos, next - pos);
    std::string cand = (dir.empty() ? "." : dir) + "/" + file;
    if (executable(cand)) return cand;
    pos = next + 1;
  }
  return NotFound("executable " + file + " not found in $PATH");
}

}  // namespace berth::native
