#pragma once
// A SPDY/3.1 session over one connected socket, in the server role (berthd's streaming
// server: the peer opens the streams) or the client role (berthctl: we open them). This is
// the framing kubelet/crictl/kubectl speak after "Upgrade: SPDY/3.1" (Go's spdystream).
//
// Frames (frame.h): SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS,
// WINDOW_UPDATE, DATA; header blocks zlib-compressed with the SPDY/3 dictionary, one
// compression context per direction for the whole session.
//
// Flow control: we advertise a receive window (SETTINGS_INITIAL_WINDOW_SIZE) and send
// WINDOW_UPDATE (per stream and for the session, stream 0) as the application reads. As a
// sender we honour the peer's windows once the peer has shown it does flow control (it sent
// SETTINGS with INITIAL_WINDOW_SIZE or any WINDOW_UPDATE; the session window once it sent a
// WINDOW_UPDATE for stream 0); Go's spdystream never does either, and toward it the socket's
// own backpressure is what limits us (otherwise every stream would stall after 64 KiB). As a
// receiver, a peer that overruns a stream's window is held back, never reset: the reader
// stops reading the socket while a stream holds more than receive_window unread bytes, so
// nothing it sent is lost (spdystream overruns by design; a flow-controlling sender may start
// before our SETTINGS reach it). Hence: drop or Reset() a stream you stop reading.
//
// Threads: Start spawns a reader thread that parses frames and dispatches them, and a writer
// thread that owns the socket's sending side: frames of all threads are queued to it whole
// (control frames ahead of DATA; at most ~1 MiB of DATA queued, then Write blocks). Stream
// methods block; they may be called from any thread, one reader and one writer per stream at
// a time. Close() (or the destructor) flushes what was queued (up to 5 s), sends GOAWAY, shuts
// the socket down, joins the threads, and makes every blocked call return (Read → 0, Write →
// false). A Stream may outlive its Session (its calls then fail). Names in Headers are
// lower-case on the wire (Go's spdystream lower-cases them: "streamType" arrives as
// "streamtype").
//
// Errors: a malformed frame from the peer ends the session with GOAWAY (PROTOCOL_ERROR) — a
// stream-level fault resets only that stream (RST_STREAM) — and never crashes or throws.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "common/unique_fd.h"
#include "cri/streaming/channels.h"

namespace berth::streaming::spdy {

// Header names are lower-case on the wire; SPDY/3 allows several values joined by NUL.
using Headers = std::map<std::string, std::string>;

class Session;

// One SPDY stream. Read/Write make it usable as an InputChannel/OutputChannel.
class Stream : public InputChannel, public OutputChannel {
 public:
  uint32_t id() const;
  // The SYN_STREAM headers (server role: what the peer sent; client role: what we sent).
  const Headers& headers() const;
  // The SYN_REPLY headers (client role), after WaitReply.
  Headers reply_headers() const;

  // InputChannel: DATA from the peer; 0 after its FIN, a reset, or the session's end (what
  // arrived before a reset by the peer or the end is still returned first).
  size_t Read(char* buf, size_t len) override;
  // OutputChannel: DATA to the peer (split in frames, flow-controlled); false once the stream
  // was reset or the session ended.
  bool Write(std::string_view data) override;
  // Our FIN (an empty DATA frame with FLAG_FIN). Idempotent.
  void Close() override;
  // RST_STREAM with `status` (RFC-draft status codes: 1 PROTOCOL_ERROR, 5 CANCEL, ...).
  void Reset(uint32_t status = 5);
  // Client role: blocks until the peer's SYN_REPLY (true, even if the stream was reset after it)
  // or a reset/session end without one (false).
  bool WaitReply(std::chrono::milliseconds timeout);
  // True once the peer reset the stream or the session ended.
  bool Broken() const;

  // Dropping the last handle without Reset(): our FIN goes out if it had not, and whatever
  // the peer still sends on the stream is discarded (and acknowledged), never buffered.
  ~Stream() override;

  // Opaque; defined in session.cc (public so that the session's internals may name it).
  struct State;

 private:
  friend class Session;
  explicit Stream(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

struct SessionOptions {
  bool server = true;                         // server: peer opens odd stream ids; we reply
  uint32_t receive_window = 4 * 1024 * 1024;  // per stream, advertised in our SETTINGS
  // The session ends when no frame has come or gone for this long (0 = never).
  std::chrono::milliseconds idle_timeout{0};
  // Called once from the reader thread when the session ends (peer GOAWAY, socket closed,
  // protocol error, idle timeout, Close()). May be empty. It may call Close() or destroy the
  // Session (the threads are then detached, not joined).
  std::function<void()> on_end;
};

class Session {
 public:
  // Takes the connected socket. `preread` holds bytes already read from it past the HTTP
  // upgrade response/request (they are the first bytes of the SPDY stream).
  static std::unique_ptr<Session> Start(UniqueFd socket, std::string preread,
                                        SessionOptions options);
  ~Session();

  // Server role: the next stream the peer opened (SYN_REPLY is sent for it at once), waiting
  // up to `timeout`. Null on timeout or when the session ended.
  std::shared_ptr<Stream> Accept(std::chrono::milliseconds timeout);
  // Client role: opens a stream with `headers` (SYN_STREAM; `fin` when we will send nothing).
  // UNAVAILABLE when the session has ended.
  Result<std::shared_ptr<Stream>> Open(const Headers& headers, bool fin = false);
  // Round-trip PING; the time it took, or UNAVAILABLE/DEADLINE_EXCEEDED.
  Result<std::chrono::microseconds> Ping(std::chrono::milliseconds timeout);

  bool Ended() const;
  // Blocks until the session ends or `timeout` passes; true when ended (on_end may still be
  // running; it has returned once Close() has).
  bool WaitEnded(std::chrono::milliseconds timeout);
  // GOAWAY (OK), shutdown, join. Idempotent; blocked stream calls return.
  void Close();

 private:
  struct Impl;
  explicit Session(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::streaming::spdy
