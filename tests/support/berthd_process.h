#pragma once
// Runs a real berthd for integration tests: its own root, state and socket under a TempDir,
// stderr captured to a file. The destructor stops it with SIGTERM (SIGKILL after 10 s).

#include <sys/types.h>

#include <string>
#include <vector>

#include "tests/support/test_env.h"

namespace berth::testing {

class BerthdProcess {
 public:
  // `extra_args` are appended after --root/--state/--socket/--plugin-dir.
  explicit BerthdProcess(std::vector<std::string> extra_args = {}, std::string plugin_dir = "");
  ~BerthdProcess();

  // Starts berthd; false when it exits or no socket appears within `timeout_ms`.
  bool Start(int timeout_ms = 10000);
  // Sends `sig` and waits for the exit; returns the wait status.
  int Stop(int sig);
  // Waits for the process to exit by itself; returns its wait status or -1 on timeout.
  int WaitExit(int timeout_ms);

  pid_t pid() const { return pid_; }
  const std::string& socket() const { return socket_; }
  std::string endpoint() const { return "unix://" + socket_; }
  const std::string& root() const { return root_; }
  const std::string& state() const { return state_; }
  std::string Stderr() const;

  // Overrides before Start() to share a root or socket with another instance.
  void set_root(std::string root) { root_ = std::move(root); }
  void set_socket(std::string socket) { socket_ = std::move(socket); }

 private:
  TempDir dir_;
  std::vector<std::string> extra_args_;
  std::string plugin_dir_, root_, state_, socket_, stderr_path_;
  pid_t pid_ = -1;
};

// Runs a command to completion; returns {exit status (or -1), stdout, stderr}.
struct CommandResult {
  int exit_code;
  std::string out;
  std::string err;
};
CommandResult RunCommand(const std::vector<std::string>& argv, int timeout_ms = 30000);

}  // namespace berth::testing
