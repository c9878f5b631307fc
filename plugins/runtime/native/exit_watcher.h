#pragma once
// ExitWatcher: one thread that waits for a task's init to exit (a WaitRequest held open on the
// shim's socket) and then calls `on_exit` once with what the shim reported — or, when the shim
// dies first, with its exit record (or an unknown status: exit 255, recorded = false).
//
// The destructor cancels the wait (an eventfd) and joins the thread; `on_exit` is not called
// after it returns. `on_exit` runs on the watcher thread.

#include <functional>
#include <string>
#include <thread>

#include "berth/shim/v1/shim.pb.h"
#include "common/unique_fd.h"

namespace berth::native_plugin {

class ExitWatcher {
 public:
  using OnExit = std::function<void(const shim::v1::ProcessState& state, bool recorded)>;

  ExitWatcher(std::string socket_path, std::string state_dir, OnExit on_exit);
  ~ExitWatcher();
  ExitWatcher(const ExitWatcher&) = delete;
  ExitWatcher& operator=(const ExitWatcher&) = delete;

 private:
  void Run();

  std::string socket_path_, state_dir_;
  OnExit on_exit_;
  UniqueFd cancel_;
  std::thread thread_;
};

}  // namespace berth::native_plugin
