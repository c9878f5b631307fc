#pragma once
// Channels: what a streaming session (exec, attach, port-forward) looks like to the code that
// runs it, independent of the wire protocol (SPDY/3.1 streams or WebSocket channels). The
// protocol layer (cri/streaming/remote_command, port_forward) implements these over its
// transport; the backend (cri/container/container_streams) pumps them into a container.
//
// Threads: each channel may be used from one thread at a time, and different channels of a
// session from different threads at once (a stdin pump, a stdout pump and a resize loop run
// concurrently). Nothing here throws.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>

namespace berth::streaming {

// Bytes from the client: stdin, or the upstream half of a port-forward connection.
class InputChannel {
 public:
  virtual ~InputChannel() = default;
  // Blocks until at least one byte is available. Returns the count, or 0 at the end: the
  // client closed its side (e.g. stdin EOF, v5 close signal) or the session ended.
  virtual size_t Read(char* buf, size_t len) = 0;
  // The backend is done with this input (the process exited): a Read blocked now, and every
  // later one, returns 0 at once. Called from another thread than the reader's; idempotent.
  // Without it a backend could not join its stdin reader before returning, since the client
  // keeps stdin open until it has the exit status (added by the backend helper; the default
  // does nothing, which leaves such a session hanging: implement it).
  virtual void Stop() {}
};

// Bytes to the client: stdout, stderr, or the downstream half of a port-forward connection.
class OutputChannel {
 public:
  virtual ~OutputChannel() = default;
  // Blocks until all of `data` is handed to the transport (flow control applies). False when
  // the client is gone or reset the channel; later writes keep failing.
  virtual bool Write(std::string_view data) = 0;
  // Ends this channel (SPDY FIN / nothing more on this WebSocket channel). Idempotent.
  virtual void Close() = 0;
};

struct TerminalSize {
  uint16_t width = 0;   // columns
  uint16_t height = 0;  // rows
};

// Terminal size changes sent by the client (the resize stream / WebSocket channel 4).
class ResizeChannel {
 public:
  virtual ~ResizeChannel() = default;
  // Blocks until the next size. False at the end (the client closed it, or the session ended).
  virtual bool Next(TerminalSize* size) = 0;
  // As InputChannel::Stop: a Next blocked now, and every later one, returns false at once.
  virtual void Stop() {}
};

// Fires once when the client goes away (connection closed, stream reset, idle timeout) before
// the session finished. A backend registers what must happen then (kill an exec'd process,
// close a dialed socket). Callbacks run on a protocol thread and must not block for long.
class Cancellation {
 public:
  virtual ~Cancellation() = default;
  // Runs `fn` when cancelled, at once if already cancelled. Returns a handle for Unregister.
  virtual uint64_t OnCancel(std::function<void()> fn) = 0;
  // After it returns, the callback will not start (it may have run already).
  virtual void Unregister(uint64_t handle) = 0;
  virtual bool Cancelled() const = 0;
};

// The channels of one exec or attach session. Pointers are borrowed for the call and null
// when the request did not ask for that stream (stderr is always null with tty; resize is
// null without tty or for protocols that have no resize stream).
struct ExecStreams {
  InputChannel* in = nullptr;
  OutputChannel* out = nullptr;
  OutputChannel* err = nullptr;
  ResizeChannel* resize = nullptr;
  bool tty = false;
  Cancellation* cancel = nullptr;  // never null
};

}  // namespace berth::streaming
