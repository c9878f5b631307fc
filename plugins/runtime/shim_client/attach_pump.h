#pragma once
// AttachPump: the runtime plugin's side of Attach (runtime.proto AttachTaskRequest). One thread
// holds an attach stream open on the task's shim socket and copies each output chunk into the
// caller's FIFOs (stream 1 → stdout, 2 → stderr; a missing FIFO drops its stream) until:
//   - the process exits (the shim ends the stream), or the shim goes away;
//   - a FIFO's reader goes away (its write end reports POLLERR/EPIPE);
//   - the pump is destroyed (an eventfd cancels every wait).
// Then it closes all its fds (the FIFO readers see EOF) and done() turns true; the owner joins
// it by destroying it (ShimRuntime sweeps finished pumps at each Attach and when the task is
// deleted, so a vanished reader leaves no fd or socket behind, and no thread beyond an exited
// one waiting for that sweep).
//
// Writes never block the thread for long without also watching for cancellation, and SIGPIPE
// is blocked on the thread (a write to a FIFO without reader fails with EPIPE instead).

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/status.h"
#include "common/unique_fd.h"

namespace berth::runtime_shim {

class AttachPump {
 public:
  // Opens the FIFOs' write ends (empty path: that stream is dropped; FAILED_PRECONDITION when a
  // FIFO has no reader), sends the attach request and starts the thread.
  static Result<std::unique_ptr<AttachPump>> Start(const std::string& socket_path,
                                                   const std::string& exec_id,
                                                   const std::string& stdout_path,
                                                   const std::string& stderr_path);
  ~AttachPump();
  AttachPump(const AttachPump&) = delete;
  AttachPump& operator=(const AttachPump&) = delete;

  bool done() const { return done_.load(); }

 private:
  AttachPump() = default;
  void Run();
  // Writes all of `data` to `fd`; false when the reader went away or the pump was cancelled.
  bool Write(int fd, const std::string& data);

  UniqueFd sock_, out_, err_;
  std::mutex cancel_mu_;  // guards cancel_, which the thread closes when it ends
  UniqueFd cancel_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace berth::runtime_shim
