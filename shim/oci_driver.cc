#include "shim/oci_driver.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include <nlohmann/json.hpp>

#include "common/fs.h"
#include "shim/protocol/frame.h"

extern char** environ;

namespace berth::shim {
namespace {

constexpr int kRuntimeTimeoutMs = 60000;

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

OciDriver::OciDriver(OciDriverConfig config, Logger logger)
    : config_(std::move(config)),
      logger_(std::move(logger)),
      state_dir_fd_(open(config_.state_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)) {}

std::string OciDriver::ShortPath(const std::string& name) {
  std::string path = config_.state_dir + "/" + name;
  if (path.size() < sizeof(sockaddr_un::sun_path) || !state_dir_fd_) return path;
  // Reached through our fd of the directory, by the runtime (a child) as well.
  return "/proc/" + std::to_string(getpid()) + "/fd/" + std::to_string(state_dir_fd_.get()) + "/" +
         name;
}

std::string OciDriver::LastLogError() {
  Result<std::string> text = ReadFile(config_.state_dir + "/runtime.log");
  if (!text.ok()) return "";
  std::string last;
  size_t start = 0;
  while (start < text->size()) {
    size_t nl = text->find('\n', start);
    if (nl == std::string::npos) nl = text->size();
    nlohmann::json line = nlohmann::json::parse(text->substr(start, nl - start), nullptr, false);
    if (line.is_object() && line.value("level", "") == "error") last = line.value("msg", "");
    start = nl + 1;
  }
  return last;
}

Status OciDriver::Run(const std::vector<std::string>& args, native::Stdio stdio,
                      const std::string& input) {
  std::vector<std::string> argv = {config_.runtime_path};
  if (!config_.root.empty()) argv.push_back("--root=" + config_.root);
  argv.push_back("--log=" + config_.state_dir + "/runtime.log");
  argv.push_back("--log-format=json");
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargv;
  for (std::string& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);

  UniqueFd in_r, in_w, err_r, err_w;
  int p[2];
  if (!input.empty()) {
    if (pipe2(p, O_CLOEXEC) != 0) return ErrnoStatus(errno, "pipe");
    in_r.reset(p[0]);
    in_w.reset(p[1]);
    stdio.in = in_r.get();
  }
  if (stdio.err < 0) {
    if (pipe2(p, O_CLOEXEC) != 0) return ErrnoStatus(errno, "pipe");
    err_r.reset(p[0]);
    err_w.reset(p[1]);
    stdio.err = err_w.get();
  }
  UniqueFd null(open("/dev/null", O_RDWR | O_CLOEXEC));
  int fds[3] = {stdio.in >= 0 ? stdio.in : null.get(), stdio.out >= 0 ? stdio.out : null.get(),
                stdio.err >= 0 ? stdio.err : null.get()};
  // dup2 onto 0..2 must not clobber a source still needed: move them all above 2 first.
  int high[3];
  for (int i = 0; i < 3; ++i) {
    high[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 10);
    if (high[i] < 0) {
      int err = errno;
      for (int j = 0; j < i; ++j) close(high[j]);
      return ErrnoStatus(err, "dup");
    }
  }
  pid_t pid = fork();
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);
    for (int i = 0; i < 3; ++i) {
      if (dup2(high[i], i) < 0) _exit(126);
    }
    close_range(3, ~0U, 0);
    execve(cargv[0], cargv.data(), environ);
    _exit(127);
  }
  int fork_errno = errno;
  for (int h : high) close(h);
  if (pid < 0) return ErrnoStatus(fork_errno, "fork");
  in_r.reset();
  err_w.reset();
  if (in_w) {
    (void)WriteAll(in_w.get(), input.data(), input.size());
    in_w.reset();
  }
  std::string err_text;
  if (err_r) {
    char buf[4096];
    for (;;) {
      pollfd pfd{err_r.get(), POLLIN, 0};
      int r = poll(&pfd, 1, kRuntimeTimeoutMs);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      ssize_t n = read(err_r.get(), buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      if (err_text.size() < 8192) err_text.append(buf, static_cast<size_t>(n));
    }
  }
  int ws = 0;
  while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0) return OkStatus();
  std::string what = args.empty() ? "runtime" : args[0];
  if (WIFEXITED(ws) && WEXITSTATUS(ws) == 127) {
    return FailedPrecondition("cannot execute OCI runtime " + config_.runtime_path);
  }
  std::string msg = LastLogError();
  if (msg.empty()) msg = Trim(err_text);
  if (msg.empty()) {
    msg = WIFEXITED(ws) ? "exit status " + std::to_string(WEXITSTATUS(ws))
                        : "killed by signal " + std::to_string(WTERMSIG(ws));
  }
  return Internal(config_.runtime_path + " " + what + ": " + msg);
}

Result<UniqueFd> OciDriver::ListenConsole(std::string* path) {
  *path = ShortPath("console-" + std::to_string(++serial_) + ".sock");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path->size() >= sizeof(addr.sun_path)) return InvalidArgument("console socket path too long");
  memcpy(addr.sun_path, path->c_str(), path->size() + 1);
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return ErrnoStatus(errno, "socket");
  unlink(path->c_str());
  mode_t old = umask(0077);
  int rc = bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  umask(old);
  if (rc != 0) return ErrnoStatus(errno, "bind console socket");
  if (listen(fd.get(), 1) != 0) return ErrnoStatus(errno, "listen console socket");
  return fd;
}

// The runtime has exited: its connection (and the fd it sent) wait in the backlog.
Result<UniqueFd> OciDriver::ReceivePty(int listener) {
  pollfd pfd{listener, POLLIN, 0};
  if (poll(&pfd, 1, 5000) <= 0) return Internal("the OCI runtime sent no terminal");
  UniqueFd conn(accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
  if (!conn) return ErrnoStatus(errno, "accept console socket");
  char data[4096];
  iovec iov{data, sizeof(data)};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n;
  do {
    n = recvmsg(conn.get(), &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return ErrnoStatus(errno, "recvmsg console socket");
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int fd;
      memcpy(&fd, CMSG_DATA(c), sizeof(fd));
      return UniqueFd(fd);
    }
  }
  return Internal("the OCI runtime sent no terminal fd");
}

Result<native::Process> OciDriver::Adopt(const std::string& pid_file) {
  Result<std::string> text = ReadFile(pid_file);
  unlink(pid_file.c_str());
  if (!text.ok()) return text.status().Wrap("the OCI runtime wrote no pid file");
  native::Process p;
  p.pid = static_cast<pid_t>(atoi(text->c_str()));
  if (p.pid <= 0) return Internal("bad pid file " + pid_file + ": " + *text);
  p.pidfd.reset(static_cast<int>(syscall(SYS_pidfd_open, p.pid, 0)));
  if (!p.pidfd) return ErrnoStatus(errno, "pidfd_open " + std::to_string(p.pid));
  return p;
}

Result<native::Process> OciDriver::Create(bool terminal, native::Stdio stdio) {
  std::string pid_file = config_.state_dir + "/init.pid";
  std::vector<std::string> args = {"create", "--bundle", config_.bundle, "--pid-file", pid_file};
  UniqueFd console;
  std::string console_path;
  if (terminal) {
    Result<UniqueFd> l = ListenConsole(&console_path);
    if (!l.ok()) return l.status();
    console = std::move(*l);
    args.push_back("--console-socket");
    args.push_back(console_path);
    stdio = {};  // the container's stdio is the pty
  }
  args.push_back(config_.id);
  UniqueFd null;
  if (stdio.err < 0) {  // never capture: the container would inherit our pipe
    null.reset(open("/dev/null", O_WRONLY | O_CLOEXEC));
    stdio.err = null.get();
  }
  Status s = Run(args, stdio);
  Result<UniqueFd> pty = UniqueFd();
  if (s.ok() && terminal) pty = ReceivePty(console.get());
  if (terminal) unlink(console_path.c_str());
  if (!s.ok()) return s;
  if (!pty.ok()) {
    (void)Delete();
    return pty.status();
  }
  Result<native::Process> p = Adopt(pid_file);
  if (!p.ok()) {
    (void)Delete();
    return p.status();
  }
  p->pty_master = std::move(*pty);
  return p;
}

Status OciDriver::Start() { return Run({"start", config_.id}, {}); }

Status OciDriver::Kill(int signal, bool all) {
  std::vector<std::string> args = {"kill"};
  if (all) args.push_back("--all");
  args.push_back(config_.id);
  args.push_back(std::to_string(signal));
  return Run(args, {});
}

Result<native::Process> OciDriver::Exec(const std::string& process_json, bool terminal,
                                        native::Stdio stdio, OciConsoleSize size) {
  nlohmann::json doc = nlohmann::json::parse(process_json, nullptr, false);
  if (!doc.is_object()) return InvalidArgument("process_json is not a JSON object");
  doc["terminal"] = terminal;
  if (terminal && size.rows && size.cols) {
    doc["consoleSize"] = {{"height", size.rows}, {"width", size.cols}};
  }
  unsigned n = ++serial_;
  std::string process_file = config_.state_dir + "/exec-" + std::to_string(n) + ".json";
  std::string pid_file = config_.state_dir + "/exec-" + std::to_string(n) + ".pid";
  BERTH_RETURN_IF_ERROR(AtomicWriteFile(process_file, doc.dump(), 0600));
  std::vector<std::string> args = {"exec",   "--detach",  "--pid-file",
                                   pid_file, "--process", process_file};
  UniqueFd console, null;
  std::string console_path;
  if (terminal) {
    Result<UniqueFd> l = ListenConsole(&console_path);
    if (!l.ok()) {
      unlink(process_file.c_str());
      return l.status();
    }
    console = std::move(*l);
    args.push_back("--console-socket");
    args.push_back(console_path);
    stdio = {};
  }
  args.push_back(config_.id);
  if (stdio.err < 0) {  // never capture: the process would inherit our pipe
    null.reset(open("/dev/null", O_WRONLY | O_CLOEXEC));
    stdio.err = null.get();
  }
  Status s = Run(args, stdio);
  unlink(process_file.c_str());
  Result<UniqueFd> pty = UniqueFd();
  if (s.ok() && terminal) pty = ReceivePty(console.get());
  if (terminal) unlink(console_path.c_str());
  if (!s.ok()) {
    unlink(pid_file.c_str());
    return s;
  }
  Result<native::Process> p = Adopt(pid_file);
  if (!p.ok()) return p.status();
  if (!pty.ok()) {
    kill(p->pid, SIGKILL);
    return pty.status();
  }
  p->pty_master = std::move(*pty);
  return p;
}

Status OciDriver::Update(const std::string& resources_json) {
  return Run({"update", "--resources", "-", config_.id}, {}, resources_json);
}

Status OciDriver::Delete() { return Run({"delete", "--force", config_.id}, {}); }

}  // namespace berth::shim
