#include "plugins/runtime/shim_client/shim_launcher.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace berth::runtime_shim {
namespace {

constexpr int kReadyFd = 3;

}  // namespace

Result<LaunchedShim> LaunchShim(const std::string& shim_path, std::vector<std::string> args,
                                int timeout_ms) {
  args.insert(args.begin(), shim_path);
  args.push_back("--ready-fd");
  args.push_back(std::to_string(kReadyFd));
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  char* envp[] = {
      const_cast<char*>("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
      nullptr};

  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return ErrnoStatus(errno, "pipe");
  pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    close(p[0]);
    close(p[1]);
    return ErrnoStatus(err, "fork");
  }
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    if (dup2(p[1], kReadyFd) < 0) _exit(127);
    close_range(kReadyFd + 1, ~0U, 0);
    execve(argv[0], argv.data(), envp);
    _exit(127);
  }
  close(p[1]);
  int ws = 0;
  while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
  }
  std::string line;
  char buf[1024];
  for (;;) {
    pollfd pfd{p[0], POLLIN, 0};
    int r = poll(&pfd, 1, timeout_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) {
      close(p[0]);
      return Status(StatusCode::kDeadlineExceeded, "berth-shim did not report readiness");
    }
    ssize_t n = read(p[0], buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    line.append(buf, static_cast<size_t>(n));
  }
  close(p[0]);
  if (WIFEXITED(ws) && WEXITSTATUS(ws) == 127 && line.empty()) {
    return FailedPrecondition("cannot execute " + shim_path);
  }
  if (line.rfind("ok ", 0) == 0) {
    LaunchedShim out;
    char* end = nullptr;
    out.shim_pid = static_cast<pid_t>(strtol(line.c_str() + 3, &end, 10));
    out.init_pid = static_cast<pid_t>(strtol(end, nullptr, 10));
    return out;
  }
  if (line.rfind("error ", 0) == 0) {
    char* end = nullptr;
    long code = strtol(line.c_str() + 6, &end, 10);
    std::string msg = end && *end ? std::string(end + 1) : "";
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    if (code <= 0 || code > 16) code = static_cast<long>(StatusCode::kUnknown);
    return Status(static_cast<StatusCode>(code), "berth-shim: " + msg);
  }
  return Internal("berth-shim exited without reporting readiness (see its shim.log)");
}

}  // namespace berth::runtime_shim
