#pragma once
// ContainerStreams: the StreamBackend (cri/streaming/stream_backend.h) of berthd — exec and
// attach sessions through the container's runtime plugin and shim, port-forward dials inside
// the pod's network namespace.
//
// How a session runs (all stdio travels through FIFOs; the runtime API never blocks):
//   Exec:   <bundle>/streams/<exec id>/{stdin,stdout,stderr} FIFOs. The read ends of stdout and
//           stderr are opened first (O_NONBLOCK), stdin O_RDWR (so the shim's O_RDONLY open
//           does not wait), then Exec(sync=false) and Start; after the exec took its end, our
//           stdin becomes a plain writer (O_WRONLY) whose close is the process's EOF (with a
//           tty the shim types ^D). One thread per stream (stdin, stdout, stderr, resize); the
//           calling thread waits for the exec's "/tasks/exit" event (ContainerManager's
//           ExitWaiter) or the client's cancellation (then the exec and its children are
//           SIGKILLed; the container keeps running), drains the output (bounded: a background
//           child may hold the FIFO open for ever), deletes the exec and removes the FIFOs.
//   Attach: the runtime's Attach copies the init's live output into
//           <bundle>/streams/attach-<n>/{stdout,stderr}; stdin goes into the container's own
//           stdin FIFO (stdin=true containers; with stdin_once the first session's end closes
//           it), resizes to its pty. Ends when the container exits or the client goes away
//           (closing our read ends ends the runtime's copy); the log file gets the output all
//           along.
//   DialPod: a short-lived thread enters the pod's netns (setns CLONE_NEWNET affects only that
//           thread) and connects to 127.0.0.1:port, then [::1]:port; the socket stays in the
//           netns it was created in. Host-network pods dial on the host.
//
// Threads: every method may run concurrently on the streaming server's threads; every thread
// a session starts is joined before the method returns, and nothing (fd, FIFO, exec record,
// process) outlives it. Needs the channels' Stop() (channels.h) to end a stdin/resize reader
// that the client keeps open.
// Errors: NOT_FOUND (container/pod gone), FAILED_PRECONDITION (not running/ready),
// UNAVAILABLE (port refused), CANCELLED (the client went away during an exec), or the runtime's.

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/log.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "cri/container/container_manager.h"
#include "cri/pod/pod_view.h"
#include "cri/streaming/stream_backend.h"

namespace berth {

class ContainerStreams final : public streaming::StreamBackend {
 public:
  using PodLookup = std::function<Result<PodView>(const std::string& pod_id)>;

  // Borrows `containers`, which must outlive this object.
  ContainerStreams(ContainerManager& containers, PodLookup pods, Logger logger);

  Result<int> Exec(const std::string& container_id, const std::vector<std::string>& cmd,
                   const streaming::ExecStreams& io) override;
  Status Attach(const std::string& container_id, const streaming::ExecStreams& io) override;
  Result<UniqueFd> DialPod(const std::string& pod_id, uint16_t port) override;

 private:
  ContainerManager& containers_;
  PodLookup pods_;
  Logger logger_;
  std::atomic<uint64_t> serial_{0};
};

}  // namespace berth
