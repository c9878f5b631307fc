#pragma once
// StreamBackend: what the streaming server (cri/streaming) asks of the rest of berthd once a
// client has connected with a valid token. Implemented by cri/container/ContainerStreams
// (exec and attach through the container's runtime plugin and shim, port-forward dials
// inside the pod's network namespace).
//
// Threads: every method may be called concurrently from the server's connection threads and
// blocks for the whole session. Ownership: channels are borrowed for the call.
// Errors: the Status goes to the client's error stream (message shown to the user):
// NOT_FOUND for a container/pod gone since the token was issued, FAILED_PRECONDITION when it
// is no longer running, UNAVAILABLE when the port refuses connections.

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/unique_fd.h"
#include "cri/streaming/channels.h"

namespace berth::streaming {

class StreamBackend {
 public:
  virtual ~StreamBackend() = default;

  // Runs `cmd` in the running container and pumps its stdio through `io` until it exits and
  // its output is drained. Returns its exit code (128+N when killed by signal N). When the
  // client goes away (io.cancel) the process is killed and the call returns promptly. Stdin
  // EOF closes the process's stdin (with tty: an end-of-file character is typed). Leaves no
  // fifo, fd or exec record behind.
  virtual Result<int> Exec(const std::string& container_id, const std::vector<std::string>& cmd,
                           const ExecStreams& io) = 0;

  // Connects `io` to the running container's init process: its output (pty or stdout/stderr)
  // from now on, stdin into the container's stdin (when it was created with stdin), resizes
  // to its pty. Returns when the container exits (OK) or the client goes away (OK; the
  // container keeps running; with stdin_once its stdin is closed). Output keeps going to the
  // container's log file as well.
  virtual Status Attach(const std::string& container_id, const ExecStreams& io) = 0;

  // A TCP connection to 127.0.0.1:`port` (then [::1]) inside the pod's network namespace, as a
  // connected, blocking, close-on-exec socket the caller owns.
  virtual Result<UniqueFd> DialPod(const std::string& pod_id, uint16_t port) = 0;
};

}  // namespace berth::streaming
