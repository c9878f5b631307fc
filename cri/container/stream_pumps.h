#pragma once
// The pieces ContainerStreams (container_streams.h) builds its sessions from: a one-shot
// wake-up fd, a directory of FIFOs removed on destruction, and the copy loops between the
// streaming channels and the FIFOs, each run on its own thread.
//
// Every copy loop blocks SIGPIPE on its thread (a FIFO whose reader is gone fails with EPIPE)
// and waits in poll() together with a Wakeup fd, so that the session can always end it.

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/status.h"
#include "common/unique_fd.h"
#include "cri/streaming/channels.h"

namespace berth::container {

// An eventfd that, once Fire()d, stays readable. Thread-safe.
class Wakeup {
 public:
  Wakeup();
  void Fire();
  bool Fired() const;
  int fd() const { return fd_.get(); }

 private:
  UniqueFd fd_;
};

// <path>/ with FIFOs (mode 0600) made on demand; the destructor unlinks them and removes the
// directory (its parent stays).
class FifoDir {
 public:
  FifoDir() = default;
  ~FifoDir();
  FifoDir(const FifoDir&) = delete;
  FifoDir& operator=(const FifoDir&) = delete;

  Status Create(const std::string& path);
  // Makes <path>/<name>; returns its path.
  Result<std::string> Fifo(const std::string& name);
  // Opens a FIFO's read end without waiting for a writer (O_NONBLOCK).
  static Result<UniqueFd> OpenReader(const std::string& path);

 private:
  std::string path_;
  std::vector<std::string> fifos_;
};

// stdin: copies `in` into `fifo` (a non-blocking write end) until the input ends (then the FIFO
// is closed: the reader's EOF), a write fails (the reader is gone), or `stop` fires. Returns
// true when the input reached its end (not stopped, not broken).
bool PumpInput(streaming::InputChannel* in, UniqueFd fifo, const Wakeup& stop);

// stdout/stderr: copies the non-blocking read end `fifo` into `out` (null or failed: the
// output is read and dropped, so the writer never stalls) until EOF or `stop`. Once `drain`
// fires it keeps reading only while data comes: it ends at EOF, after `idle_ms` without data,
// or `max_ms` after the drain began. Closes `out` at the end.
struct DrainLimits {
  int idle_ms = 200;
  int max_ms = 5000;
};
void PumpOutput(UniqueFd fifo, streaming::OutputChannel* out, const Wakeup& drain,
                const Wakeup& stop, DrainLimits limits = {});

// Writes all of `data` to the non-blocking `fd`, waiting for room (and `stop`). False when the
// reader is gone or `stop` fired.
bool WriteFifo(int fd, const char* data, size_t len, const Wakeup& stop);

// Blocks SIGPIPE on the calling thread for its lifetime and discards a pending one at the end.
class ScopedNoSigpipe {
 public:
  ScopedNoSigpipe();
  ~ScopedNoSigpipe();
  ScopedNoSigpipe(const ScopedNoSigpipe&) = delete;
  ScopedNoSigpipe& operator=(const ScopedNoSigpipe&) = delete;
};

}  // namespace berth::container
