#pragma once
// ExitWatcher: one thread that waits for a task's process (the init, exec_id "", or an exec) to
// exit (a WaitRequest held open on the shim's socket) and then calls `on_exit` once with what
// the shim reported — or, when the shim dies first, with its exit record (init only; otherwise
// an unknown status: exit 255, recorded = false).
//
// The destructor cancels the wait (an eventfd) and joins the thread; `on_exit` is not called
// after it returns. `on_exit` runs on the watcher thread.

#include <functional>
#include <string>
#include <thread>

#include "berth/shim/v1/shim.pb.h"
#include "common/unique_fd.h"

namespace berth::runtime_shim {

class ExitWatcher {
 public:
  using OnExit = std::function<void(const shim::v1::ProcessState& state, bool recorded)>;

  ExitWatcher(std::string socket_path, std::string state_dir, std::string exec_id, OnExit on_exit);
  ~ExitWatcher();
  ExitWatcher(const ExitWatcher&) = delete;
  ExitWatcher& operator=(const ExitWatcher&) = delete;

 private:
  void Run();

  std::string socket_path_, state_dir_, exec_id_;
  OnExit on_exit_;
  UniqueFd cancel_;
  std::thread thread_;
};

}  // namespace berth::runtime_shim
