#include "shim/shim.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "common/fs.h"
#include "shim/protocol/exit_record.h"
#include "shim/protocol/frame.h"

namespace berth::shim {
namespace {

void SetNonBlocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

}  // namespace

int64_t NowUnixNano() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

v1::Response ErrorResponse(const Status& status) {
  v1::Response r;
  r.set_code(static_cast<int32_t>(status.code()));
  r.set_message(status.message());
  return r;
}

Shim::Shim(ShimOptions options, Logger logger)
    : options_(std::move(options)), logger_(std::move(logger)), log_(options_.log_path) {}

Shim::~Shim() = default;

pid_t Shim::init_pid() const {
  auto it = processes_.find("");  // native and oci alike (oci has no container_)
  return it == processes_.end() ? -1 : it->second->proc.pid;
}

ShimProcess* Shim::Find(const std::string& exec_id) {
  auto it = processes_.find(exec_id);
  return it == processes_.end() ? nullptr : it->second.get();
}

Status Shim::Setup() {
  // Signals first: a child that exits before the loop runs must still be noticed.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  signal_fd_.reset(signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!signal_fd_) return ErrnoStatus(errno, "signalfd");
  BERTH_RETURN_IF_ERROR(loop_.Add(signal_fd_.get(), EPOLLIN, [this](uint32_t) { OnSignal(); }));

  BERTH_RETURN_IF_ERROR(log_.Open());
  Result<native::OciSpec> spec = native::LoadSpec(options_.bundle);
  if (!spec.ok()) return spec.status().Wrap("load spec");

  auto init = std::make_unique<ShimProcess>();
  UniqueFd out_w, err_w;
  if (!spec->process.terminal) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return ErrnoStatus(errno, "pipe");
    init->out_r.reset(p[0]);
    out_w.reset(p[1]);
    if (pipe2(p, O_CLOEXEC) != 0) return ErrnoStatus(errno, "pipe");
    init->err_r.reset(p[0]);
    err_w.reset(p[1]);
  }
  native::Stdio stdio{-1, out_w.get(), err_w.get()};
  BERTH_RETURN_IF_ERROR(OpenStdin(&stdio));
  ShimProcess& p = *init;
  processes_[""] = std::move(init);
  if (options_.runtime == "oci") {
    BERTH_RETURN_IF_ERROR(SetupOci(*spec, p, stdio));
  } else {
    native::CreateOptions opts;
    opts.bundle_dir = options_.bundle;
    opts.stdio = stdio;
    opts.cgroup.path = spec->linux.cgroups_path;
    opts.logger = logger_;
    Result<native::Container> c = native::Create(*spec, opts);
    if (!c.ok()) return c.status().Wrap("create container");
    container_.emplace(std::move(*c));
    p.proc = std::move(container_->init);
    container_->init.pid = p.proc.pid;  // the library's Exec reads the init's pid
    container_->init.pidfd.reset(dup(p.proc.pidfd.get()));
  }
  out_w.reset();
  err_w.reset();
  if (p.proc.pty_master) {
    BERTH_RETURN_IF_ERROR(WatchOutput(p, p.proc.pty_master.get(), LogStream::kStdout));
    // With a terminal the container's stdin is the pty: the loop copies --stdin into it.
    BERTH_RETURN_IF_ERROR(StartStdinPump(p, std::move(stdin_r_)));
  }
  stdin_r_.reset();  // the container has its copy (or the pump has it)
  if (p.out_r) BERTH_RETURN_IF_ERROR(WatchOutput(p, p.out_r.get(), LogStream::kStdout));
  if (p.err_r) BERTH_RETURN_IF_ERROR(WatchOutput(p, p.err_r.get(), LogStream::kStderr));

  if (cgroup()) {
    Result<int> oom = cgroup()->OomEventFd();
    if (oom.ok()) {
      oom_fd_.reset(*oom);
      SetNonBlocking(oom_fd_.get());
      BERTH_RETURN_IF_ERROR(loop_.Add(oom_fd_.get(), EPOLLIN, [this](uint32_t) {
        char buf[512];
        bool fired = false;
        while (read(oom_fd_.get(), buf, sizeof(buf)) > 0) fired = true;
        // v1: the eventfd counts OOM events; v2: inotify on memory.events (CheckOom compares).
        if (fired && cgroup() && cgroup()->version() == 1) oom_seen_ = true;
        CheckOom();
      }));
    } else {
      logger_.Warn("no OOM notifications", {{"error", oom.status().ToString()}});
    }
  }
  BERTH_RETURN_IF_ERROR(Listen());
  trimmer_.Init();
  std::string pid = std::to_string(getpid()) + "\n";
  return AtomicWriteFile(PidFilePath(options_.state_dir), pid, 0600);
}

Status Shim::OpenStdin(native::Stdio* stdio) {
  if (options_.stdin_path.empty()) return OkStatus();
  // O_NONBLOCK: opening a FIFO's read end must not wait for a writer.
  stdin_r_.reset(open(options_.stdin_path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!stdin_r_) return ErrnoStatus(errno, "open stdin " + options_.stdin_path);
  fcntl(stdin_r_.get(), F_SETFL, fcntl(stdin_r_.get(), F_GETFL) & ~O_NONBLOCK);
  struct stat st;
  if (fstat(stdin_r_.get(), &st) == 0 && S_ISFIFO(st.st_mode)) {
    // Our writer keeps the container from seeing EOF when a client closes (CloseStdin does).
    stdin_keep_.reset(open(options_.stdin_path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
    if (!stdin_keep_) return ErrnoStatus(errno, "open stdin " + options_.stdin_path);
  }
  stdio->in = stdin_r_.get();
  return OkStatus();
}

Status Shim::SetupOci(const native::OciSpec& spec, ShimProcess& init, native::Stdio stdio) {
  oci_.emplace(OciDriverConfig{options_.runtime_path, options_.runtime_root, options_.id,
                               options_.bundle, options_.state_dir},
               logger_);
  Result<native::Process> proc = oci_->Create(spec.process.terminal, stdio);
  if (!proc.ok()) return proc.status().Wrap("create container");
  init.proc = std::move(*proc);
  if (!spec.linux.cgroups_path.empty()) {
    native::CgroupConfig cfg;
    cfg.path = spec.linux.cgroups_path;
    Result<std::unique_ptr<native::Cgroup>> cg = native::MakeCgroup(cfg, logger_);
    if (cg.ok()) {
      oci_cgroup_ = std::move(*cg);
    } else {
      logger_.Warn("no cgroup for stats", {{"error", cg.status().ToString()}});
    }
  }
  return OkStatus();
}

Status Shim::StartProcess(ShimProcess& p) {
  if (!oci()) return native::Start(p.proc);
  if (p.exec_id.empty()) return oci_->Start();
  native::Stdio stdio{p.oci_in.get(), p.oci_out.get(), p.oci_err.get()};
  Result<native::Process> proc =
      oci_->Exec(p.oci_process_json, p.oci_terminal, stdio, {p.pending_rows, p.pending_cols});
  if (!p.oci_terminal) p.oci_in.reset();
  p.oci_out.reset();
  p.oci_err.reset();
  if (!proc.ok()) return proc.status();
  p.proc = std::move(*proc);
  UniqueFd tty_stdin = p.oci_terminal ? std::move(p.oci_in) : UniqueFd();
  p.oci_in.reset();
  if (p.proc.pty_master && p.pending_rows) {
    winsize ws{};
    ws.ws_row = p.pending_rows;
    ws.ws_col = p.pending_cols;
    ioctl(p.proc.pty_master.get(), TIOCSWINSZ, &ws);
  }
  if (!p.proc.pty_master) return OkStatus();
  BERTH_RETURN_IF_ERROR(WatchOutput(p, p.proc.pty_master.get(), LogStream::kStdout));
  return StartStdinPump(p, std::move(tty_stdin));
}

Status Shim::Listen() {
  std::string path = SocketPath(options_.state_dir);
  // sun_path holds 107 bytes; a longer path (deep state dirs, 64-hex ids) is bound through
  // /proc/self/fd/<dir>/<name>, which the kernel resolves to the same directory.
  std::string bind_path = path;
  UniqueFd dir;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    size_t slash = path.rfind('/');
    dir.reset(open(path.substr(0, slash).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!dir) return ErrnoStatus(errno, "open " + path.substr(0, slash));
    bind_path = "/proc/self/fd/" + std::to_string(dir.get()) + path.substr(slash);
    if (bind_path.size() >= sizeof(addr.sun_path)) {
      return InvalidArgument("socket name in " + path + " is too long");
    }
  }
  memcpy(addr.sun_path, bind_path.c_str(), bind_path.size() + 1);
  listener_.reset(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!listener_) return ErrnoStatus(errno, "socket");
  unlink(bind_path.c_str());
  mode_t old = umask(0077);  // root-only from the moment it exists
  int rc = bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  umask(old);
  if (rc != 0) return ErrnoStatus(errno, "bind " + path);
  if (chmod(bind_path.c_str(), 0600) != 0) return ErrnoStatus(errno, "chmod " + path);
  if (listen(listener_.get(), 16) != 0) return ErrnoStatus(errno, "listen " + path);
  return loop_.Add(listener_.get(), EPOLLIN, [this](uint32_t) { OnAccept(); });
}

Status Shim::WatchOutput(ShimProcess& p, int fd, LogStream stream) {
  SetNonBlocking(fd);
  std::string id = p.exec_id;
  return loop_.Add(fd, EPOLLIN, [this, id, fd, stream](uint32_t) { OnOutput(id, fd, stream); });
}

void Shim::OnOutput(const std::string& exec_id, int fd, LogStream stream) {
  ShimProcess* p = Find(exec_id);
  if (p == nullptr) {
    loop_.Remove(fd);
    return;
  }
  char buf[8192];
  ssize_t n = read(fd, buf, sizeof(buf));
  if (n > 0) {
    DeliverOutput(*p, stream, buf, static_cast<size_t>(n));
    return;
  }
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  StopWatching(*p, fd, stream);  // EOF, or EIO from a pty whose last slave closed
}

void Shim::DeliverOutput(ShimProcess& p, LogStream stream, const char* data, size_t len) {
  int s = static_cast<int>(stream);
  if (p.sync) {
    uint64_t room = p.taken[s] < p.output_limit ? p.output_limit - p.taken[s] : 0;
    size_t keep = len < room ? len : static_cast<size_t>(room);
    if (len > keep) p.truncated = true;  // the rest is dropped; the process runs on
    p.taken[s] += keep;
    if (keep > 0 && p.chunked) {
      // Straight to the client: the shim's memory stays one read, whatever the limit.
      v1::Response r;
      r.mutable_output()->set_stream(static_cast<uint32_t>(s + 1));
      r.mutable_output()->set_data(data, keep);
      Reply(p.sync_client, r);
    } else if (keep > 0) {
      p.captured[s].append(data, keep);
    }
  } else if (p.exec_id.empty()) {
    log_.Write(stream, data, len);
  } else if (p.tty_sink) {
    WriteTty(p, data, len);
  }
  if (!p.attached.empty()) {
    v1::Response r;
    r.mutable_output()->set_stream(static_cast<uint32_t>(s + 1));
    r.mutable_output()->set_data(data, len);
    std::vector<uint64_t> ids = p.attached;
    for (uint64_t id : ids) Reply(id, r);
  }
}

void Shim::StopWatching(ShimProcess& p, int fd, LogStream stream) {
  loop_.Remove(fd);
  if (p.exec_id.empty() && !p.sync) log_.Flush(stream);
  if (p.out_r.get() == fd) p.out_r.reset();
  if (p.err_r.get() == fd) p.err_r.reset();
  if (p.proc.pty_master.get() == fd) {
    StopStdinPump(p);  // its dup would keep the terminal open
    p.proc.pty_master.reset();
  }
}

// After an exit: takes what is already in the pipes without waiting for EOF, because a
// background child may hold the write end open for ever.
void Shim::DrainOutput(ShimProcess& p) {
  struct Source {
    int fd;
    LogStream stream;
  } sources[3] = {{p.proc.pty_master.get(), LogStream::kStdout},
                  {p.out_r.get(), LogStream::kStdout},
                  {p.err_r.get(), LogStream::kStderr}};
  for (const Source& src : sources) {
    if (src.fd < 0) continue;
    char buf[8192];
    ssize_t n;
    while ((n = read(src.fd, buf, sizeof(buf))) > 0) {
      DeliverOutput(p, src.stream, buf, static_cast<size_t>(n));
    }
    StopWatching(p, src.fd, src.stream);
  }
}

void Shim::OnSignal() {
  signalfd_siginfo si;
  bool reap = false;
  while (read(signal_fd_.get(), &si, sizeof(si)) == sizeof(si)) {
    if (si.ssi_signo == SIGCHLD) {
      reap = true;
    } else {
      logger_.Info("terminating on signal", {{"signal", static_cast<int>(si.ssi_signo)}});
      Cleanup();
      loop_.Stop();
      return;
    }
  }
  if (!reap) return;
  for (;;) {
    int ws = 0;
    pid_t pid = waitpid(-1, &ws, WNOHANG);
    if (pid <= 0) break;
    for (auto& [id, p] : processes_) {
      if (p->proc.pid == pid && p->status != v1::PROCESS_STATUS_STOPPED) {
        OnExit(*p, ws);
        break;
      }
    }
  }
}

void Shim::CheckOom() {
  if (!cgroup()) return;
  Result<native::CgroupStats> st = cgroup()->Stats();
  if (st.ok() && st->oom_kill_count > 0) oom_seen_ = true;
  if (cgroup()->version() == 1 && oom_fd_) {  // v1 eventfd fires only on OOM
    uint64_t n = 0;
    if (read(oom_fd_.get(), &n, sizeof(n)) == sizeof(n) && n > 0) oom_seen_ = true;
  }
}

void Shim::OnExit(ShimProcess& p, int ws) {
  p.status = v1::PROCESS_STATUS_STOPPED;
  p.exited_ns = NowUnixNano();
  if (WIFEXITED(ws)) {
    p.exit_status = WEXITSTATUS(ws);
  } else if (WIFSIGNALED(ws)) {
    p.signal = static_cast<uint32_t>(WTERMSIG(ws));
    p.exit_status = 128 + WTERMSIG(ws);
  }
  p.timer.reset();
  DrainOutput(p);
  StopStdinPump(p);
  if (p.tty_sink) CloseTtySink(p);  // EOF for the reader once the last output went out
  if (p.exec_id.empty()) {
    CheckOom();
    p.oom_killed = oom_seen_;
    ExitRecord rec{static_cast<uint32_t>(p.proc.pid),
                   p.exit_status,
                   p.signal,
                   p.started_ns,
                   p.exited_ns,
                   p.oom_killed};
    Status s = WriteExitRecord(options_.state_dir, rec);
    if (!s.ok()) logger_.Error("cannot record the exit", {{"error", s.ToString()}});
    exit_recorded_ = true;
    logger_.Info("container exited",
                 {{"exit_status", p.exit_status}, {"oom_killed", p.oom_killed}});
  }
  FinishExit(p);
}

void Shim::FinishExit(ShimProcess& p) {
  v1::Response r;
  if (p.sync) {
    v1::ExecSyncResult* res = r.mutable_exec_sync();
    res->set_exit_status(p.exit_status);
    res->set_stdout(std::move(p.captured[0]));  // empty when chunked: it went out already
    res->set_stderr(std::move(p.captured[1]));
    res->set_timed_out(p.timed_out);
    res->set_output_truncated(p.truncated);
    if (p.timed_out) {
      r.set_code(static_cast<int32_t>(StatusCode::kDeadlineExceeded));
      r.set_message("exec " + p.exec_id + " timed out; the process and its children were killed");
    } else if (p.truncated && !p.chunked) {
      r.set_code(static_cast<int32_t>(StatusCode::kResourceExhausted));
      r.set_message("exec " + p.exec_id + " output exceeded the limit of " +
                    std::to_string(p.output_limit) + " bytes per stream");
    }
  } else {
    FillState(p, r.mutable_state());
  }
  std::vector<uint64_t> waiters = std::move(p.waiters);
  std::vector<uint64_t> attached = std::move(p.attached);
  for (uint64_t id : waiters) Reply(id, r);
  v1::Response end;
  FillState(p, end.mutable_state());
  for (uint64_t id : attached) Reply(id, end);
  if (p.sync) processes_.erase(p.exec_id);  // nobody deletes exec-sync processes
}

// Kills `root` and every process below it (children re-parented inside the container stay
// found through /proc: we collect the tree before killing anything).
void Shim::KillProcessTree(pid_t root, int sig) {
  std::vector<std::pair<pid_t, pid_t>> parent_of;  // (pid, ppid)
  if (DIR* d = opendir("/proc")) {
    while (dirent* e = readdir(d)) {
      pid_t pid = static_cast<pid_t>(atoi(e->d_name));
      if (pid <= 0) continue;
      char path[64], buf[512];
      snprintf(path, sizeof(path), "/proc/%d/stat", pid);
      int fd = open(path, O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;
      ssize_t n = read(fd, buf, sizeof(buf) - 1);
      close(fd);
      if (n <= 0) continue;
      buf[n] = '\0';
      const char* rp = strrchr(buf, ')');
      int ppid = 0;
      char state;
      if (rp && sscanf(rp + 1, " %c %d", &state, &ppid) == 2) parent_of.emplace_back(pid, ppid);
    }
    closedir(d);
  }
  std::vector<pid_t> tree = {root};
  for (size_t i = 0; i < tree.size(); ++i) {
    for (auto [pid, ppid] : parent_of) {
      if (ppid == tree[i]) tree.push_back(pid);
    }
  }
  for (pid_t pid : tree) kill(pid, sig);
}

void Shim::Cleanup() {
  if (!container_ && !oci_) return;
  Status s = container_ ? native::Destroy(*container_) : oci_->Delete();
  if (!s.ok()) logger_.Warn("destroy container", {{"error", s.ToString()}});
  if (oci_cgroup_) (void)oci_cgroup_->Destroy();  // what the runtime left (it should not)
  ShimProcess* init = Find("");
  if (init && init->status != v1::PROCESS_STATUS_STOPPED && init->proc.pid > 0) {
    int ws = 0;
    while (waitpid(init->proc.pid, &ws, 0) < 0 && errno == EINTR) {
    }
    OnExit(*init, ws);
  }
}

int Shim::Run() {
  trimmer_.Trim();
  Status s = loop_.Run();
  unlink(SocketPath(options_.state_dir).c_str());
  if (!s.ok()) {
    logger_.Error("event loop failed", {{"error", s.ToString()}});
    return 1;
  }
  return exit_code_;
}

}  // namespace berth::shim
