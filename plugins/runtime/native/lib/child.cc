#include "plugins/runtime/native/lib/child.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

#include "plugins/runtime/native/lib/namespaces.h"
#include "plugins/runtime/native/lib/process_setup.h"
#include "plugins/runtime/native/lib/rootfs.h"
#include "plugins/runtime/native/lib/seccomp.h"
#include "plugins/runtime/native/lib/sysctl.h"

namespace berth::native {

Status SendMsg(int fd, char type, const std::string& payload) {
  std::string m(1, type);
  m += payload;
  if (send(fd, m.data(), m.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(m.size()))
    return ErrnoStatus(errno, "setup channel send");
  return OkStatus();
}

Result<char> RecvMsg(int fd, std::string* payload, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  int rc;
  while ((rc = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR) {
  }
  if (rc == 0) return Status(StatusCode::kDeadlineExceeded, "container setup timed out");
  if (rc < 0) return ErrnoStatus(errno, "poll setup channel");
  char buf[4096];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof(buf), 0)) < 0 && errno == EINTR) {
  }
  if (n < 0) return ErrnoStatus(errno, "setup channel recv");
  if (n == 0) return '\0';
  if (payload) payload->assign(buf + 1, static_cast<size_t>(n) - 1);
  return buf[0];
}

Status DecodeStatus(const std::string& payload) {
  size_t colon = payload.find(':');
  int code = colon == std::string::npos ? 13 : atoi(payload.substr(0, colon).c_str());
  if (code == 0) code = 13;
  return Status(static_cast<StatusCode>(code),
                payload.substr(colon == std::string::npos ? 0 : colon + 1));
}

namespace {

[[noreturn]] void Fail(int sync, char type, const Status& s) {
  (void)SendMsg(sync, type, std::to_string(static_cast<int>(s.code())) + ":" + s.message());
  _exit(type == 'X' ? 127 : 1);
}

// Joins the namespaces given by path, user first; opened all at once before any setns
// because joining the mount namespace changes what paths mean.
Status JoinByPath(const LinuxSpec& linux) {
  size_t n;
  const NamespaceType* order = JoinOrder(&n);
  std::vector<std::pair<int, NamespaceType>> fds;
  for (size_t i = 0; i < n; ++i) {
    const Namespace* ns = linux.FindNamespace(order[i]);
    // pid is joined by the parent (it only affects children); time likewise.
    if (!ns || ns->path.empty() || order[i] == NamespaceType::kPid ||
        order[i] == NamespaceType::kTime)
      continue;
    int fd = open(ns->path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus(errno, "open namespace " + ns->path);
    fds.emplace_back(fd, order[i]);
  }
  Status st;
  for (auto [fd, type] : fds) {
    if (st.ok() && setns(fd, CloneFlag(type)) != 0)
      st = ErrnoStatus(errno, "join " + NamespaceTypeName(type) + " namespace");
    close(fd);
  }
  return st;
}

// The common tail of init and exec: everything about the process itself.
Status SetupProcess(const ChildPlan& plan, std::string* exe) {
  const ProcessSpec& p = *plan.process;
  const std::optional<Seccomp>& seccomp = plan.spec->linux.seccomp;
  BERTH_RETURN_IF_ERROR(ApplyRlimits(p.rlimits));
  Result<std::string> path = LookPath(p.args[0], p.env);
  if (!path.ok()) return path.status();
  *exe = *path;
  // Without no_new_privs a filter can only be installed with CAP_SYS_ADMIN: do it before the
  // capabilities are dropped (the filter then also applies to the few setup syscalls left).
  if (seccomp && !p.no_new_privileges) BERTH_RETURN_IF_ERROR(LoadSeccomp(*seccomp).Wrap("seccomp"));
  BERTH_RETURN_IF_ERROR(DropBoundingSet(p.capabilities.value_or(Capabilities{})));
  BERTH_RETURN_IF_ERROR(SwitchUser(p.user));
  BERTH_RETURN_IF_ERROR(ApplyCapabilities(p.capabilities));
  BERTH_RETURN_IF_ERROR(ChangeDir(p.cwd));
  if (p.no_new_privileges) BERTH_RETURN_IF_ERROR(SetNoNewPrivs());
  // With no_new_privs, as late as possible so the filter need not allow setup syscalls.
  if (seccomp && p.no_new_privileges) BERTH_RETURN_IF_ERROR(LoadSeccomp(*seccomp).Wrap("seccomp"));
  umask(p.user.umask.value_or(022));
  return OkStatus();
}

Status SetupInit(const ChildPlan& plan) {
  const OciSpec& spec = *plan.spec;
  BERTH_RETURN_IF_ERROR(JoinByPath(spec.linux));
  if (plan.unshare_flags && unshare(plan.unshare_flags) != 0)
    return ErrnoStatus(errno, "unshare namespaces");
  BERTH_RETURN_IF_ERROR(SendMsg(plan.sync_fd, 'R'));
  std::string payload;
  Result<char> go = RecvMsg(plan.sync_fd, &payload, -1);
  if (!go.ok()) return go.status();
  if (*go != 'G') _exit(1);  // parent gave up
  if (plan.new_user_ns) {
    // Become root of the new namespace (mapped by the parent), so that the setup below runs
    // with the namespace's full capabilities and creates files owned by its root.
    if (setresgid(0, 0, 0) != 0 || setresuid(0, 0, 0) != 0)
      return ErrnoStatus(errno, "become root in the user namespace (is 0 mapped?)");
  }
  // After the parent placed us in our cgroup, so that the namespace's root is that cgroup.
  if (plan.new_cgroup_ns && unshare(CLONE_NEWCGROUP) != 0)
    return ErrnoStatus(errno, "unshare cgroup namespace");
  if (plan.new_mount_ns) {
    RootfsOptions ro;
    ro.rootfs = plan.rootfs;
    ro.bundle_dir = plan.bundle_dir;
    ro.in_user_ns = plan.new_user_ns || spec.linux.FindNamespace(NamespaceType::kUser);
    ro.new_cgroup_ns = plan.new_cgroup_ns;
    ro.console_path = plan.pty_path;
    BERTH_RETURN_IF_ERROR(PrepareRootfs(spec, ro).Wrap("rootfs"));
  }
  if (!spec.hostname.empty() && sethostname(spec.hostname.data(), spec.hostname.size()) != 0)
    return ErrnoStatus(errno, "sethostname");
  BERTH_RETURN_IF_ERROR(ApplySysctls(spec.linux.sysctl));
  if (plan.new_mount_ns) BERTH_RETURN_IF_ERROR(FinishRootfs(spec).Wrap("rootfs"));
  return OkStatus();
}

Status SetupExec(const ChildPlan& plan) {
  if (plan.join_flags && setns(plan.join_pidfd, plan.join_flags) != 0)
    return ErrnoStatus(errno, "join the container's namespaces");
  close(plan.join_pidfd);
  BERTH_RETURN_IF_ERROR(SendMsg(plan.sync_fd, 'R'));
  Result<char> go = RecvMsg(plan.sync_fd, nullptr, -1);
  if (!go.ok()) return go.status();
  if (*go != 'G') _exit(1);
  return OkStatus();
}

}  // namespace

void RunChild(const ChildPlan& plan) {
  const int sync = plan.sync_fd;
  // Not dumpable until execve: container processes cannot ptrace us or open
  // /proc/<pid>/exe (our binary) or /proc/<pid>/fd (CVE-2019-5736 class).
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  umask(0);
  Status st;
  if (plan.pty_slave >= 0)
    st = SetupStdio(plan.pty_slave, plan.pty_slave, plan.pty_slave);
  else
    st = SetupStdio(plan.stdio[0], plan.stdio[1], plan.stdio[2]);
  if (!st.ok()) Fail(sync, 'E', st);
  if (plan.is_init || plan.pty_slave >= 0) setsid();
  if (plan.pty_slave >= 0 && ioctl(0, TIOCSCTTY, 0) != 0)
    Fail(sync, 'E', ErrnoStatus(errno, "TIOCSCTTY"));
  // Before entering any namespace: nothing of the host but stdio and our channel survives.
  std::vector<int> keep = {sync};
  if (plan.join_pidfd >= 0) keep.push_back(plan.join_pidfd);
  st = CloseFdsExcept(keep);
  if (!st.ok()) Fail(sync, 'E', st);
  st = plan.is_init ? SetupInit(plan) : SetupExec(plan);
  std::string exe;
  if (st.ok()) st = SetupProcess(plan, &exe);
  if (!st.ok()) Fail(sync, 'E', st.Wrap(plan.is_init ? "container init" : "exec"));
  if (!SendMsg(sync, 'D').ok()) _exit(1);
  Result<char> start = RecvMsg(sync, nullptr, -1);
  if (!start.ok() || *start != 'S') _exit(1);  // never started: exit without running anything
  ResetSignals();
  std::vector<char*> argv, envp;
  for (const std::string& a : plan.process->args) argv.push_back(const_cast<char*>(a.c_str()));
  for (const std::string& e : plan.process->env) envp.push_back(const_cast<char*>(e.c_str()));
  argv.push_back(nullptr);
  envp.push_back(nullptr);
  execve(exe.c_str(), argv.data(), envp.data());
  Fail(sync, 'X', ErrnoStatus(errno, "execve " + exe));
}

}  // namespace berth::native
