#include "plugins/runtime/native/lib/container.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>

#include "common/fs.h"
#include "common/safe_path.h"
#include "plugins/runtime/native/lib/child.h"
#include "plugins/runtime/native/lib/namespaces.h"
#include "plugins/runtime/native/lib/seccomp.h"
#include "plugins/runtime/native/lib/sysctl.h"

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

namespace berth::native {
namespace {

constexpr int kSetupTimeoutMs = 60'000;

// struct clone_args (linux/sched.h, v2 with cgroup), spelled out to avoid header clashes
// between glibc's <sched.h> and the kernel's.
struct CloneArgs {
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
      set_tid_size, cgroup;
};

// Fork-like clone3 (no new stack): the child returns here on a copy of our stack, as with
// fork, which keeps it compatible with sanitizers. Returns 0 in the child.
pid_t Clone3(uint64_t flags, int* pidfd, int cgroup_fd) {
  CloneArgs args{};
  args.flags = flags | CLONE_PIDFD;
  args.pidfd = reinterpret_cast<uint64_t>(pidfd);
  args.exit_signal = SIGCHLD;
  if (cgroup_fd >= 0) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = static_cast<uint64_t>(cgroup_fd);
  }
  return static_cast<pid_t>(syscall(SYS_clone3, &args, sizeof(args)));
}

// Temporarily points the caller's pid_for_children at another pid namespace (restored on
// destruction), so that the next clone3 creates its child there. Only affects children.
class PidNsForChildren {
 public:
  Status Enter(int target_ns_fd) {
    own_.reset(open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC));
    if (!own_) return ErrnoStatus(errno, "open own pid namespace");
    if (setns(target_ns_fd, CLONE_NEWPID) != 0) {
      own_.reset();
      return ErrnoStatus(errno, "enter the container's pid namespace");
    }
    return OkStatus();
  }
  void Restore() {
    if (own_) (void)setns(own_.get(), CLONE_NEWPID);
    own_.reset();
  }
  ~PidNsForChildren() { Restore(); }

 private:
  UniqueFd own_;
};

struct Pty {
  UniqueFd master, slave;
  std::string path;
};

Result<Pty> OpenPty() {
  Pty p;
  p.master.reset(posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!p.master) return ErrnoStatus(errno, "posix_openpt");
  char name[128];
  if (grantpt(p.master.get()) != 0 || unlockpt(p.master.get()) != 0 ||
      ptsname_r(p.master.get(), name, sizeof(name)) != 0)
    return ErrnoStatus(errno, "set up pty");
  p.path = name;
  p.slave.reset(open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!p.slave) return ErrnoStatus(errno, std::string("open ") + name);
  return p;
}

// A pty of the container's own devpts instance (<root of init>/dev/pts/ptmx), as runc gives an
// exec: inside, ttyname() then finds /dev/pts/N. The ptmx is resolved inside the container's
// root without following symlinks and must be the devpts ptmx device (5:2), so a container
// cannot point us at another file. NOT_FOUND when the container has no devpts of its own.
Result<Pty> OpenContainerPty(pid_t init_pid) {
  Result<SafeRoot> root = SafeRoot::Open("/proc/" + std::to_string(init_pid) + "/root");
  if (!root.ok()) return root.status();
  Result<UniqueFd> ptmx = root->Resolve("/dev/pts/ptmx", kResolveNoSymlinks);
  if (!ptmx.ok()) return ptmx.status();
  struct stat st;
  if (fstat(ptmx->get(), &st) != 0) return ErrnoStatus(errno, "stat the container's ptmx");
  if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != 5 || minor(st.st_rdev) != 2) {
    return NotFound("the container's /dev/pts/ptmx is not the devpts ptmx");
  }
  Pty p;
  std::string reopen = "/proc/self/fd/" + std::to_string(ptmx->get());
  p.master.reset(open(reopen.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!p.master) return ErrnoStatus(errno, "open the container's ptmx");
  int unlock = 0, n = 0;
  if (ioctl(p.master.get(), TIOCSPTLCK, &unlock) != 0 || ioctl(p.master.get(), TIOCGPTN, &n) != 0)
    return ErrnoStatus(errno, "set up the container's pty");
  int slave = ioctl(p.master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) return ErrnoStatus(errno, "open the container's pty slave");
  p.slave.reset(slave);
  p.path = "/dev/pts/" + std::to_string(n);
  return p;
}

Status WriteProcFile(pid_t pid, const std::string& file, const std::string& data) {
  std::string path = "/proc/" + std::to_string(pid) + "/" + file;
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return ErrnoStatus(errno, "open " + path);
  if (write(fd.get(), data.data(), data.size()) != static_cast<ssize_t>(data.size()))
    return ErrnoStatus(errno, "write " + path);
  return OkStatus();
}

std::string Mappings(const std::vector<IdMapping>& maps) {
  std::string out;
  for (const IdMapping& m : maps)
    out += std::to_string(m.container_id) + " " + std::to_string(m.host_id) + " " +
           std::to_string(m.size) + "\n";
  return out;
}

void KillAndReap(pid_t pid, int pidfd) {
  syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0);
  while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

// Reads one message; turns 'E' and EOF into errors.
Status Expect(int sync, char want) {
  std::string payload;
  Result<char> m = RecvMsg(sync, &payload, kSetupTimeoutMs);
  if (!m.ok()) return m.status();
  if (*m == want) return OkStatus();
  if (*m == 'E' || *m == 'X') return DecodeStatus(payload);
  return Internal("container process exited during setup");
}

void OomScoreAdj(pid_t pid, const ProcessSpec& p, const Logger& logger) {
  if (!p.oom_score_adj) return;
  Status s = WriteProcFile(pid, "oom_score_adj", std::to_string(*p.oom_score_adj));
  // Lowering the score needs CAP_SYS_RESOURCE, which some hosts (VMs, nested containers)
  // withhold: the process keeps the inherited score, which is safe (never more protected
  // than asked), and we say so.
  if (!s.ok())
    logger.Warn(
        "oom_score_adj not applied; keeping the inherited value",
        {{"pid", static_cast<int>(pid)}, {"want", *p.oom_score_adj}, {"error", s.message()}});
}

// Runs the parent half of the setup handshake for a freshly cloned child.
Status Handshake(int sync, pid_t pid, const ProcessSpec& process, const OciSpec* new_userns_spec,
                 Cgroup* cgroup, const Logger& logger) {
  BERTH_RETURN_IF_ERROR(Expect(sync, 'R'));
  if (new_userns_spec) {
    // gid_map first is not required for root; uid_map then gid_map as the kernel documents.
    BERTH_RETURN_IF_ERROR(
        WriteProcFile(pid, "uid_map", Mappings(new_userns_spec->linux.uid_mappings)));
    BERTH_RETURN_IF_ERROR(
        WriteProcFile(pid, "gid_map", Mappings(new_userns_spec->linux.gid_mappings)));
  }
  if (cgroup && cgroup->DirFd() < 0) BERTH_RETURN_IF_ERROR(cgroup->AddProcess(pid));
  OomScoreAdj(pid, process, logger);
  BERTH_RETURN_IF_ERROR(SendMsg(sync, 'G'));
  return Expect(sync, 'D');
}

Status ValidateForCreate(const OciSpec& spec) {
  const LinuxSpec& l = spec.linux;
  const Namespace* mnt = l.FindNamespace(NamespaceType::kMount);
  if (!mnt || !mnt->path.empty())
    return InvalidArgument("linux.namespaces: a new mount namespace is required");
  if (!spec.hostname.empty() && !l.FindNamespace(NamespaceType::kUts))
    return InvalidArgument("hostname: needs a uts namespace");
  const Namespace* user = l.FindNamespace(NamespaceType::kUser);
  const Namespace* pid = l.FindNamespace(NamespaceType::kPid);
  if (user && !user->path.empty() && pid && pid->path.empty())
    return Unimplemented(
        "linux.namespaces: a new pid namespace inside a user namespace joined by "
        "path is not supported");
  BERTH_RETURN_IF_ERROR(ValidateSysctls(l.sysctl, l));
  if (l.seccomp) BERTH_RETURN_IF_ERROR(ValidateSeccomp(*l.seccomp));
  return OkStatus();
}

}  // namespace

Result<Container> Create(const OciSpec& spec, const CreateOptions& options) {
  BERTH_RETURN_IF_ERROR(ValidateForCreate(spec));
  const LinuxSpec& l = spec.linux;
  std::string root = spec.root_path;
  if (root.empty() || root[0] != '/') root = options.bundle_dir + "/" + root;
  char real[PATH_MAX];
  if (!realpath(root.c_str(), real)) return ErrnoStatus(errno, "rootfs " + root);
  if (!options.state_dir.empty()) BERTH_RETURN_IF_ERROR(MakeDirs(options.state_dir, 0700));

  Container c;
  c.spec = spec;
  CgroupConfig cg = options.cgroup;
  if (cg.path.empty()) cg.path = l.cgroups_path;
  if (!cg.path.empty()) {
    Result<std::unique_ptr<Cgroup>> made = MakeCgroup(cg, options.logger);
    if (!made.ok()) return made.status();
    c.cgroup = std::move(*made);
    Status s = c.cgroup->Create(l.resources);
    if (!s.ok()) {
      (void)c.cgroup->Destroy();
      return s.Wrap("cgroup " + cg.path);
    }
  }
  auto fail = [&](Status s) -> Status {
    if (c.cgroup) (void)c.cgroup->Destroy();
    return s;
  };

  Pty pty;
  if (spec.process.terminal) {
    Result<Pty> p = OpenPty();
    if (!p.ok()) return fail(p.status());
    pty = std::move(*p);
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    return fail(ErrnoStatus(errno, "socketpair"));
  UniqueFd parent_end(sv[0]), child_end(sv[1]);

  uint64_t flags = 0;
  const Namespace* userns = l.FindNamespace(NamespaceType::kUser);
  bool join_user = userns && !userns->path.empty();
  int unshare_flags = 0;
  for (const Namespace& ns : l.namespaces) {
    // The cgroup namespace is unshared by the child once it is in its cgroup.
    if (!ns.path.empty() || ns.type == NamespaceType::kCgroup) continue;
    // Namespaces created after joining a user ns by path must be owned by that ns.
    if (join_user)
      unshare_flags |= CloneFlag(ns.type);
    else
      flags |= static_cast<uint64_t>(CloneFlag(ns.type));
  }
  PidNsForChildren pidns;
  if (const Namespace* p = l.FindNamespace(NamespaceType::kPid); p && !p->path.empty()) {
    UniqueFd nsfd(open(p->path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!nsfd) return fail(ErrnoStatus(errno, "open " + p->path));
    Status s = pidns.Enter(nsfd.get());
    if (!s.ok()) return fail(s);
  }

  ChildPlan plan;
  plan.spec = &c.spec;
  plan.process = &c.spec.process;
  plan.is_init = true;
  plan.rootfs = real;
  plan.bundle_dir = options.bundle_dir;
  plan.stdio[0] = options.stdio.in;
  plan.stdio[1] = options.stdio.out;
  plan.stdio[2] = options.stdio.err;
  plan.pty_slave = pty.slave.get();
  plan.pty_path = pty.path;
  plan.sync_fd = child_end.get();
  plan.unshare_flags = unshare_flags;
  plan.new_user_ns = userns && userns->path.empty();
  const Namespace* cgns = l.FindNamespace(NamespaceType::kCgroup);
  plan.new_cgroup_ns = cgns && cgns->path.empty();
  plan.new_mount_ns = true;

  int pidfd = -1;
  pid_t pid = Clone3(flags, &pidfd, c.cgroup ? c.cgroup->DirFd() : -1);
  if (pid == 0) RunChild(plan);
  int clone_errno = errno;
  pidns.Restore();
  if (pid < 0) return fail(ErrnoStatus(clone_errno, "clone3"));
  child_end.reset();
  pty.slave.reset();
  c.init.pid = pid;
  c.init.pidfd.reset(pidfd);
  Status s = Handshake(parent_end.get(), pid, spec.process, plan.new_user_ns ? &spec : nullptr,
                       c.cgroup.get(), options.logger);
  if (!s.ok()) {
    KillAndReap(pid, pidfd);
    return fail(s);
  }
  c.init.sync = std::move(parent_end);
  c.init.pty_master = std::move(pty.master);
  return c;
}

Status Start(Process& process) {
  if (!process.sync)
    return FailedPrecondition("process " + std::to_string(process.pid) + " already started");
  UniqueFd sync = std::move(process.sync);
  BERTH_RETURN_IF_ERROR(SendMsg(sync.get(), 'S'));
  std::string payload;
  // The channel is close-on-exec: EOF means execve succeeded.
  Result<char> m = RecvMsg(sync.get(), &payload, kSetupTimeoutMs);
  if (!m.ok()) return m.status();
  if (*m == '\0') return OkStatus();
  if (*m == 'X' || *m == 'E') return DecodeStatus(payload).Wrap("start");
  return Internal("start: unexpected message from the container process");
}

Result<Process> Exec(const Container& container, const ProcessSpec& process,
                     const ExecOptions& options) {
  const Process& init = container.init;
  if (init.pid <= 0 || !init.pidfd) return FailedPrecondition("container has no init process");
  // Join every namespace the container does not share with us.
  int join = 0;
  bool other_pidns = false;
  for (const Namespace& ns : container.spec.linux.namespaces) {
    std::string name = ProcNsName(ns.type);
    struct stat mine, theirs;
    if (stat(("/proc/self/ns/" + name).c_str(), &mine) != 0 ||
        stat(("/proc/" + std::to_string(init.pid) + "/ns/" + name).c_str(), &theirs) != 0)
      return ErrnoStatus(errno, "stat " + name + " namespace");
    if (mine.st_ino == theirs.st_ino && mine.st_dev == theirs.st_dev) continue;
    if (ns.type == NamespaceType::kPid)
      other_pidns = true;
    else if (ns.type != NamespaceType::kTime)
      join |= CloneFlag(ns.type);
  }
  Process p;
  Pty pty;
  if (process.terminal) {
    Result<Pty> t = OpenContainerPty(init.pid);
    if (!t.ok() && t.status().code() == StatusCode::kNotFound) t = OpenPty();  // no devpts
    if (!t.ok()) return t.status();
    pty = std::move(*t);
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    return ErrnoStatus(errno, "socketpair");
  UniqueFd parent_end(sv[0]), child_end(sv[1]);
  PidNsForChildren pidns;
  if (other_pidns) BERTH_RETURN_IF_ERROR(pidns.Enter(init.pidfd.get()));

  ChildPlan plan;
  plan.spec = &container.spec;
  plan.process = &process;
  plan.is_init = false;
  plan.stdio[0] = options.stdio.in;
  plan.stdio[1] = options.stdio.out;
  plan.stdio[2] = options.stdio.err;
  plan.pty_slave = pty.slave.get();
  plan.sync_fd = child_end.get();
  plan.join_pidfd = init.pidfd.get();
  plan.join_flags = join;
  Cgroup* cg = container.cgroup.get();
  int pidfd = -1;
  pid_t pid = Clone3(0, &pidfd, cg ? cg->DirFd() : -1);
  if (pid == 0) RunChild(plan);
  int clone_errno = errno;
  pidns.Restore();
  if (pid < 0) return ErrnoStatus(clone_errno, "clone3");
  child_end.reset();
  pty.slave.reset();
  Status s = Handshake(parent_end.get(), pid, process, nullptr, cg, options.logger);
  if (!s.ok()) {
    KillAndReap(pid, pidfd);
    return s;
  }
  p.pid = pid;
  p.pidfd.reset(pidfd);
  p.sync = std::move(parent_end);
  p.pty_master = std::move(pty.master);
  return p;
}

Status Destroy(Container& container) {
  container.init.sync.reset();  // a parked init exits on EOF
  Status s;
  if (container.cgroup) {
    s = container.cgroup->Destroy();
  } else if (container.init.pidfd) {
    if (syscall(SYS_pidfd_send_signal, container.init.pidfd.get(), SIGKILL, nullptr, 0) != 0 &&
        errno != ESRCH)
      s = ErrnoStatus(errno, "kill container init");
  }
  return s;
}

}  // namespace berth::native
