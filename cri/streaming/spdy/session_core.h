#pragma once
// Private to cri/streaming/spdy: the state a Session's threads and its Streams share, and the
// reader/writer thread bodies (session_io.cc). Everything in Core is guarded by Core::mu.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "cri/streaming/spdy/frame.h"
#include "cri/streaming/spdy/header_block.h"
#include "cri/streaming/spdy/session.h"

namespace berth::streaming::spdy {

using Clock = std::chrono::steady_clock;

// DATA frames we send carry at most 32 KiB. Go's io.Copy (kubectl, crictl) hands spdystream
// 32 KiB writes, each one frame, so both directions look alike; the 8-byte header costs 0.02%;
// and since a frame goes out whole, small frames keep other streams (stderr, the error stream,
// PING answers) from waiting behind a long one.
constexpr size_t kMaxDataFrame = 32 * 1024;
// Encoded DATA waiting for the writer thread. Past this, Stream::Write blocks: this is how the
// socket's backpressure reaches writers when the peer does no flow control.
constexpr size_t kMaxQueuedData = 1024 * 1024;
// Streams the peer may hold open at once; more are refused (RST_STREAM REFUSED_STREAM).
constexpr size_t kMaxConcurrentStreams = 4096;
// Close(): how long queued frames may take to drain, and how long we wait for the peer's EOF
// after our FIN (closing a socket with unread input would send a TCP RST and could destroy
// data the peer has not read yet).
constexpr auto kCloseFlushTimeout = std::chrono::seconds(5);
constexpr auto kLingerTimeout = std::chrono::seconds(1);

struct Core;

struct Stream::State {
  uint32_t id = 0;
  Headers headers;
  Headers reply_headers;
  bool replied = false;
  std::weak_ptr<Core> core;

  // Receive side.
  std::deque<std::string> rbuf;
  size_t rbuf_off = 0;     // consumed part of rbuf.front()
  size_t buffered = 0;     // bytes in rbuf not yet read
  int64_t recv_avail = 0;  // what is left of the window we advertised
  size_t unacked = 0;      // read by the application, not yet given back in WINDOW_UPDATE
  bool remote_fin = false;
  bool abandoned = false;  // the application dropped its Stream: discard what comes

  // Send side.
  int64_t send_window = kDefaultWindow;
  bool local_fin = false;

  bool reset = false;  // by either side
  std::condition_variable cv;
};

// Everything the threads and the streams share. Streams hold it weakly, so a Stream outliving
// its Session only ever sees "ended".
struct Core {
  std::mutex mu;
  UniqueFd fd;
  SessionOptions opts;
  uint32_t session_window = 0;  // the session receive window we advertise

  bool ended = false;
  bool writer_stop = false;  // writer: exit once the queues are empty
  bool writer_done = false;
  bool reader_done = false;
  std::condition_variable state_cv;  // ended / writer_done / reader_done / queue drained

  // Outgoing frames. Control frames go first (PING answers, WINDOW_UPDATE, RST must not wait
  // behind megabytes of DATA); data keeps its order, which also orders each stream's FIN.
  struct Item {
    uint32_t stream_id;
    std::string bytes;
  };
  std::deque<std::string> control_q;
  std::deque<Item> data_q;
  size_t data_q_bytes = 0;
  std::condition_variable writer_cv;
  std::condition_variable space_cv;

  std::map<uint32_t, std::shared_ptr<Stream::State>> streams;
  std::deque<std::shared_ptr<Stream::State>> accept_q;
  std::condition_variable accept_cv;
  uint32_t next_stream_id = 1;
  uint32_t last_peer_stream_id = 0;
  bool peer_goaway = false;

  // Flow control toward the peer (session.h: enforced once the peer showed it does it).
  bool peer_flow_control = false;
  bool peer_session_flow_control = false;  // sent WINDOW_UPDATE for stream 0
  int64_t peer_initial_window = kDefaultWindow;
  int64_t session_send_window = kDefaultWindow;
  size_t session_unacked = 0;

  uint32_t next_ping_id = 1;
  std::map<uint32_t, bool> pings;  // id -> answered
  std::condition_variable ping_cv;

  Clock::time_point last_activity = Clock::now();
  HeaderCompressor compressor;

  // --- helpers; all with mu held ---
  void Control(std::string frame) {
    control_q.push_back(std::move(frame));
    writer_cv.notify_one();
  }
  void Data(uint32_t id, std::string frame) {
    data_q_bytes += frame.size();
    data_q.push_back({id, std::move(frame)});
    writer_cv.notify_one();
  }
  void WakeStream(Stream::State& st) { st.cv.notify_all(); }
  void ResetLocked(Stream::State& st, uint32_t status, bool send) {
    if (st.reset) return;
    st.reset = true;
    space_cv.notify_all();  // a Write of this stream may wait for queue space
    if (send) {
      // Our own reset: nobody will read what is buffered. A reset from the peer keeps it
      // readable: kubelet's server (spdystream) writes the exit status on the error stream
      // and resets that stream right after, in the same packet.
      st.rbuf.clear();
      st.buffered = 0;
    }
    if (send && !ended) {
      // Its queued DATA is moot now.
      for (auto it = data_q.begin(); it != data_q.end();) {
        if (it->stream_id == st.id) {
          data_q_bytes -= it->bytes.size();
          it = data_q.erase(it);
        } else {
          ++it;
        }
      }
      Control(EncodeRstStream(st.id, status));
    }
    streams.erase(st.id);
    WakeStream(st);
  }
  void MaybeForget(Stream::State& st) {
    if (st.local_fin && st.remote_fin) streams.erase(st.id);
  }
  // Ends the session: every blocked call returns. `goaway` (if any) is the last frame sent;
  // with `flush` queued DATA still goes out before it (Close), otherwise it is dropped.
  void EndLocked(std::optional<uint32_t> goaway, bool flush) {
    if (ended) return;
    ended = true;
    if (!flush) {
      data_q.clear();
      data_q_bytes = 0;
    }
    if (goaway) {
      if (flush)
        Data(0, EncodeGoAway(last_peer_stream_id, *goaway));
      else
        Control(EncodeGoAway(last_peer_stream_id, *goaway));
    }
    writer_stop = true;
    writer_cv.notify_all();
    space_cv.notify_all();
    for (auto& [id, st] : streams) WakeStream(*st);
    streams.clear();
    accept_q.clear();
    accept_cv.notify_all();
    ping_cv.notify_all();
    state_cv.notify_all();
  }
};

// Thread bodies; each holds the core until it returns.
void WriterLoop(const std::shared_ptr<Core>& c);
void ReaderLoop(const std::shared_ptr<Core>& c, const std::string& preread);

}  // namespace berth::streaming::spdy
