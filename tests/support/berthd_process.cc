#include "tests/support/berthd_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace berth::testing {
namespace {

pid_t Spawn(const std::vector<std::string>& argv, const std::string& out_path,
            const std::string& err_path) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&fa);
  return pid;
}

// waitpid with a deadline; -1 on timeout.
int WaitFor(pid_t pid, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0) return -1;
    if (std::chrono::steady_clock::now() > deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

BerthdProcess::BerthdProcess(std::vector<std::string> extra_args, std::string plugin_dir)
    : extra_args_(std::move(extra_args)), plugin_dir_(std::move(plugin_dir)) {
  root_ = dir_ / "root";
  state_ = dir_ / "state";
  socket_ = dir_ / "state/berth.sock";
  stderr_path_ = dir_ / "berthd.stderr";
  if (plugin_dir_.empty()) plugin_dir_ = dir_ / "no-plugins";
}

BerthdProcess::~BerthdProcess() {
  if (pid_ > 0) Stop(SIGTERM);
}

bool BerthdProcess::Start(int timeout_ms) {
  std::vector<std::string> argv = {BERTHD_PATH, "--root",      root_,   "--state",
                                   state_,      "--socket",    socket_, "--plugin-dir",
                                   plugin_dir_, "--log-level", "debug"};
  argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
  pid_ = Spawn(argv, dir_ / "berthd.stdout", stderr_path_);
  if (pid_ <= 0) return false;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    // berthd logs "serving CRI" once its socket is bound and restricted. The socket file alone
    // proves nothing: a killed daemon's, or one another daemon serves, may already be there.
    if (Stderr().find("msg=\"serving CRI\"") != std::string::npos) return true;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

int BerthdProcess::Stop(int sig) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, sig);
  int status = WaitFor(pid_, 10000);
  if (status == -1) {
    ::kill(pid_, SIGKILL);
    status = WaitFor(pid_, 10000);
  }
  pid_ = -1;
  return status;
}

int BerthdProcess::WaitExit(int timeout_ms) {
  if (pid_ <= 0) return -1;
  int status = WaitFor(pid_, timeout_ms);
  if (status != -1) pid_ = -1;
  return status;
}

std::string BerthdProcess::Stderr() const { return Slurp(stderr_path_); }

CommandResult RunCommand(const std::vector<std::string>& argv, int timeout_ms) {
  TempDir dir;
  pid_t pid = Spawn(argv, dir / "out", dir / "err");
  if (pid <= 0) return {-1, "", "spawn failed"};
  int status = WaitFor(pid, timeout_ms);
  if (status == -1) {
    ::kill(pid, SIGKILL);
    WaitFor(pid, 5000);
    return {-1, Slurp(dir / "out"), Slurp(dir / "err") + "\n(timed out)"};
  }
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return {code, Slurp(dir / "out"), Slurp(dir / "err")};
}

}  // namespace berth::testing
