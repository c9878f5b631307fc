#include "cri/pod/pod_infra.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <thread>
#include <vector>

#include "common/fs.h"

namespace berth {
namespace {

uint64_t StartTime(pid_t pid) {
  auto stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  if (!stat.ok()) return 0;
  // The command name (field 2) may hold spaces; fields after it follow the last ')'.
  size_t p = stat->rfind(')');
  if (p == std::string::npos) return 0;
  std::string rest = stat->substr(p + 2);  // starts at field 3
  size_t field = 3, pos = 0;
  while (field < 22 && pos != std::string::npos) {
    pos = rest.find(' ', pos);
    if (pos != std::string::npos) ++pos;
    ++field;
  }
  if (pos == std::string::npos) return 0;
  return std::strtoull(rest.c_str() + pos, nullptr, 10);
}

bool IsZombieOrGone(pid_t pid) {
  auto stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  if (!stat.ok()) return true;
  size_t p = stat->rfind(')');
  return p == std::string::npos || p + 2 >= stat->size() || (*stat)[p + 2] == 'Z';
}

}  // namespace

std::string DefaultPausePath() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "berth-pause";
  std::string exe(buf, static_cast<size_t>(n));
  return exe.substr(0, exe.rfind('/') + 1) + "berth-pause";
}

namespace {

struct ChildArgs {
  const char* path;
  char* const* argv;
  char* const* envp;
  int null_fd;
};

// Runs in the cloned child, which shares berthd's memory until execve (CLONE_VM|CLONE_VFORK,
// as posix_spawn does): only async-signal-safe calls.
int ChildMain(void* arg) {
  auto* a = static_cast<ChildArgs*>(arg);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
  }
  dup2(a->null_fd, 0);
  dup2(a->null_fd, 1);
  dup2(a->null_fd, 2);
  setsid();  // no terminal, no process group of berthd's
  execve(a->path, a->argv, a->envp);
  _exit(127);
}

}  // namespace

Result<InfraProcess> StartInfraProcess(const std::string& pause_path, const std::string& pod_id) {
  if (::access(pause_path.c_str(), X_OK) != 0) {
    return FailedPrecondition("the pod infra program " + pause_path +
                              " is missing or not executable (it is installed next to berthd)");
  }
  int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd < 0) return ErrnoStatus(errno, "open /dev/null");
  std::vector<std::string> args = {pause_path, "--pod", pod_id};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  char* envp[] = {nullptr};
  ChildArgs ca{pause_path.c_str(), argv.data(), envp, null_fd};
  std::vector<char> stack(64 * 1024);
  pid_t pid = ::clone(ChildMain, stack.data() + stack.size(),
                      CLONE_NEWPID | CLONE_VM | CLONE_VFORK | SIGCHLD, &ca);
  int err = errno;
  ::close(null_fd);
  if (pid < 0) return ErrnoStatus(err, "start the pod infra process in a new PID namespace");
  InfraProcess p{pid, StartTime(pid)};
  if (p.start_time == 0 || !InfraAlive(p)) {
    ::waitpid(pid, nullptr, WNOHANG);
    return Internal("the pod infra process " + pause_path + " exited at once");
  }
  return p;
}

bool InfraAlive(const InfraProcess& p) {
  return p.pid > 0 && !IsZombieOrGone(p.pid) && StartTime(p.pid) == p.start_time;
}

Status StopInfraProcess(const InfraProcess& p) {
  if (!InfraAlive(p)) {
    ::waitpid(p.pid, nullptr, WNOHANG);  // a zombie child of ours
    return OkStatus();
  }
  if (::kill(p.pid, SIGKILL) != 0 && errno != ESRCH) {
    return ErrnoStatus(errno, "kill pod infra process " + std::to_string(p.pid));
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (InfraAlive(p)) {
    ::waitpid(p.pid, nullptr, WNOHANG);  // ours unless berthd restarted since
    if (std::chrono::steady_clock::now() > deadline) {
      return Internal("pod infra process " + std::to_string(p.pid) + " did not exit after SIGKILL");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return OkStatus();
}

InfraProcess FindInfraProcess(const std::string& pod_id) {
  std::string want = std::string("--pod") + '\0' + pod_id + '\0';
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return {};
  InfraProcess found;
  while (dirent* e = ::readdir(d)) {
    pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (pid <= 0) continue;
    auto cmd = ReadFile("/proc/" + std::to_string(pid) + "/cmdline");
    if (!cmd.ok() || cmd->find("berth-pause") == std::string::npos) continue;
    if (cmd->find(want) == std::string::npos) continue;
    found = {pid, StartTime(pid)};
    break;
  }
  ::closedir(d);
  return found;
}

}  // namespace berth
