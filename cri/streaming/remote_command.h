#pragma once
// The protocol-independent half of exec and attach: running the request through the
// StreamBackend over already-negotiated channels, reporting the outcome on the error channel
// (kubelet's metav1.Status JSON for v4/v5, plain text before), plus the small pieces both
// transports share: CancelSource (a Cancellation the transport fires) and JsonResizeChannel
// (the resize stream/channel: concatenated {"Width":w,"Height":h} JSON objects).

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "cri/streaming/channels.h"
#include "cri/streaming/request_cache.h"
#include "cri/streaming/stream_backend.h"

namespace berth::streaming {

// A Cancellation fired by the transport (connection closed, reset, idle timeout). Fire runs
// the callbacks on the calling thread, once; Unregister waits for a callback that is running
// on another thread, so the backend may free what the callback uses once Unregister returns.
class CancelSource final : public Cancellation {
 public:
  uint64_t OnCancel(std::function<void()> fn) override;
  void Unregister(uint64_t handle) override;
  bool Cancelled() const override;
  void Fire();

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool cancelled_ = false;
  uint64_t next_ = 1;
  std::map<uint64_t, std::function<void()>> callbacks_;
  uint64_t running_ = 0;  // the handle Fire is running now (0: none)
  std::thread::id firing_thread_;
};

// Reads terminal sizes from `in` (borrowed): JSON objects one after another, keys matched
// case-insensitively as Go's encoding/json does. Ends (false) at the input's end or at the
// first malformed object.
class JsonResizeChannel final : public ResizeChannel {
 public:
  explicit JsonResizeChannel(InputChannel& in) : in_(in) {}
  bool Next(TerminalSize* size) override;
  // Ends Next now and later (stops the underlying input too).
  void Stop() override;

 private:
  InputChannel& in_;
  std::string buf_;
  std::atomic<bool> ended_{false};
};

// metav1.Status JSON as kubelet writes it on the v4/v5 error stream.
std::string SuccessStatusJson();
std::string NonZeroExitStatusJson(int exit_code, const std::string& detail);
std::string InternalErrorStatusJson(const std::string& message);

enum class ErrorFormat {
  kPlainText,   // channel.k8s.io, v2, v3: the message only, nothing on success
  kStatusJson,  // v4/v5: a metav1.Status, also on success
};

// Runs the exec or attach `request` (a PortForwardRequest is a programming error) with `io`,
// then writes the outcome to `error` (may be null), and closes out, err and error. Returns
// the process's exit code for exec (-1 when it did not run) and 0 for attach.
int RunRemoteCommand(StreamBackend& backend, const CachedRequest& request, const ExecStreams& io,
                     OutputChannel* error, ErrorFormat format);

}  // namespace berth::streaming
