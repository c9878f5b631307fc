#include "plugins/network/cni/cni_exec.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "common/unique_fd.h"

extern char** environ;

namespace berth::cni {
namespace {

constexpr size_t kMaxStdout = 16u << 20;  // a result larger than this is not a CNI result
constexpr size_t kMaxStderr = 8u << 10;

// Reads what is available on `fd` into `out` (keeping at most `cap` bytes); false on EOF/error.
bool Drain(int fd, std::string& out, size_t cap) {
  char buf[16384];
  ssize_t n = ::read(fd, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
  if (n <= 0) return false;
  size_t take = std::min(static_cast<size_t>(n), cap > out.size() ? cap - out.size() : 0);
  out.append(buf, take);
  return true;
}

int WaitChild(pid_t pid) {
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return -1;
}

}  // namespace

std::vector<std::string> BaseEnvironment() {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (std::strncmp(*e, "CNI_", 4) != 0) env.emplace_back(*e);
  }
  bool has_path = false;
  for (const auto& e : env) has_path |= e.rfind("PATH=", 0) == 0;
  if (!has_path)
    env.emplace_back("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  return env;
}

Result<std::string> FindPluginBinary(const std::string& type,
                                     const std::vector<std::string>& dirs) {
  if (type.empty() || type == "." || type == ".." || type.find('/') != std::string::npos) {
    return InvalidArgument("invalid CNI plugin type \"" + type + "\"");
  }
  for (const auto& dir : dirs) {
    std::string path = dir + "/" + type;
    struct stat st;
    if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(path.c_str(), X_OK) == 0) {
      return path;
    }
  }
  std::string list;
  for (const auto& dir : dirs) list += (list.empty() ? "" : ", ") + dir;
  return NotFound("CNI plugin binary \"" + type + "\" not found in [" + list + "]");
}

Result<ExecResult> ExecPlugin(const std::string& path, const std::vector<std::string>& env,
                              const std::string& stdin_data, std::chrono::milliseconds timeout) {
  int in_sv[2], out_p[2], err_p[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in_sv) != 0) {
    return ErrnoStatus(errno, "socketpair");
  }
  UniqueFd in_parent(in_sv[0]), in_child(in_sv[1]);
  if (::pipe2(out_p, O_CLOEXEC) != 0) return ErrnoStatus(errno, "pipe");
  UniqueFd out_parent(out_p[0]), out_child(out_p[1]);
  if (::pipe2(err_p, O_CLOEXEC) != 0) return ErrnoStatus(errno, "pipe");
  UniqueFd err_parent(err_p[0]), err_child(err_p[1]);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in_child.get(), 0);
  posix_spawn_file_actions_adddup2(&fa, out_child.get(), 1);
  posix_spawn_file_actions_adddup2(&fa, err_child.get(), 2);
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);  // also fds others forgot to mark CLOEXEC
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);    // the child starts with no blocked signals ...
  posix_spawnattr_setsigdefault(&attr, &all);  // ... and default dispositions
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> envp;
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  char* argv[] = {const_cast<char*>(path.c_str()), nullptr};
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, path.c_str(), &fa, &attr, argv, envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return ErrnoStatus(rc, "start " + path);
  in_child.reset();
  out_child.reset();
  err_child.reset();

  ExecResult res;
  size_t written = 0;
  if (stdin_data.empty()) ::shutdown(in_parent.get(), SHUT_WR);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool out_open = true, err_open = true, timed_out = false;
  while (out_open || err_open) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    struct pollfd fds[3] = {{out_parent.get(), POLLIN, 0},
                            {err_parent.get(), POLLIN, 0},
                            {in_parent.get(), POLLOUT, 0}};
    if (!out_open) fds[0].fd = -1;
    if (!err_open) fds[1].fd = -1;
    if (written >= stdin_data.size()) fds[2].fd = -1;
    int n = ::poll(fds, 3, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    if (n < 0 && errno != EINTR) break;
    if (n <= 0) continue;
    if (fds[0].revents) out_open = Drain(out_parent.get(), res.out, kMaxStdout);
    if (fds[1].revents) err_open = Drain(err_parent.get(), res.err, kMaxStderr);
    if (fds[2].revents) {
      ssize_t w = ::send(in_parent.get(), stdin_data.data() + written, stdin_data.size() - written,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
      if (w > 0) written += static_cast<size_t>(w);
      if ((w < 0 && errno != EAGAIN && errno != EINTR) || written >= stdin_data.size()) {
        written = stdin_data.size();  // the plugin stopped reading: it gets what it took
        ::shutdown(in_parent.get(), SHUT_WR);
      }
    }
  }
  if (timed_out) ::kill(pid, SIGKILL);
  res.exit_code = WaitChild(pid);
  if (timed_out) {
    return Status(StatusCode::kDeadlineExceeded,
                  path + " did not finish within " + std::to_string(timeout.count() / 1000) + "s");
  }
  return res;
}

}  // namespace berth::cni
