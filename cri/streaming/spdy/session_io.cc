// The reader thread (parse, dispatch, flow control as a receiver) and the writer thread
// (the only one that sends on the socket) of a Session.
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "cri/streaming/spdy/session_core.h"

namespace berth::streaming::spdy {
namespace {

// Writes all of `bytes`; false when the socket failed (peer gone, shut down).
bool SendAll(int fd, const std::string& bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    off += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

void WriterLoop(const std::shared_ptr<Core>& c) {
  std::string batch;
  std::unique_lock lk(c->mu);
  for (;;) {
    c->writer_cv.wait(
        lk, [&] { return !c->control_q.empty() || !c->data_q.empty() || c->writer_stop; });
    if (c->control_q.empty() && c->data_q.empty()) break;  // stopped and drained
    batch.clear();
    while (!c->control_q.empty()) {
      batch += c->control_q.front();
      c->control_q.pop_front();
    }
    // Up to ~256 KiB of DATA per send: fewer syscalls, yet control frames queued meanwhile
    // wait at most that long.
    while (!c->data_q.empty() && batch.size() < size_t{256} * 1024) {
      batch += c->data_q.front().bytes;
      c->data_q_bytes -= c->data_q.front().bytes.size();
      c->data_q.pop_front();
    }
    c->space_cv.notify_all();
    lk.unlock();
    bool ok = SendAll(c->fd.get(), batch);
    lk.lock();
    if (!ok) {
      c->control_q.clear();
      c->data_q.clear();
      c->data_q_bytes = 0;
      c->EndLocked(std::nullopt, false);
      break;
    }
    c->last_activity = Clock::now();
    if (c->control_q.empty() && c->data_q.empty()) c->state_cv.notify_all();
  }
  // Our FIN: the peer reads everything we sent, then EOF.
  ::shutdown(c->fd.get(), SHUT_WR);
  c->writer_done = true;
  c->state_cv.notify_all();
}

namespace {

class Dispatcher {
 public:
  explicit Dispatcher(std::shared_ptr<Core> c) : c_(std::move(c)) {}

  // False when the session must end with GOAWAY PROTOCOL_ERROR.
  bool Handle(Frame& f, std::unique_lock<std::mutex>& lk) {
    switch (f.type) {
      case FrameType::kData:
        return OnData(f, lk);
      case FrameType::kSynStream:
        return OnSynStream(f);
      case FrameType::kSynReply:
      case FrameType::kHeaders:
        return OnReplyOrHeaders(f);
      case FrameType::kRstStream: {
        auto it = c_->streams.find(f.stream_id);
        if (it != c_->streams.end()) {
          auto st = it->second;
          c_->ResetLocked(*st, f.status, /*send=*/false);
        }
        return true;
      }
      case FrameType::kSettings:
        return OnSettings(f);
      case FrameType::kPing:
        if ((f.ping_id & 1) != (c_->next_ping_id & 1)) {
          c_->Control(EncodePing(f.ping_id));  // the peer's: echo it
        } else if (auto it = c_->pings.find(f.ping_id); it != c_->pings.end()) {
          it->second = true;
          c_->ping_cv.notify_all();
        }
        return true;
      case FrameType::kGoAway:
        c_->peer_goaway = true;
        c_->EndLocked(std::nullopt, false);
        return true;
      case FrameType::kWindowUpdate:
        return OnWindowUpdate(f);
    }
    return true;
  }

  std::string error;

 private:
  bool PeerParity(uint32_t id) const { return (id & 1) != (c_->next_stream_id & 1); }

  bool OnData(Frame& f, std::unique_lock<std::mutex>& lk) {
    size_t len = f.payload.size();
    // The session window is given back on receipt: per-stream windows already bound what we
    // buffer, this one only has to keep the peer from stalling.
    c_->session_unacked += len;
    if (c_->session_unacked >= c_->session_window / 2) {
      c_->Control(EncodeWindowUpdate(0, static_cast<uint32_t>(c_->session_unacked)));
      c_->session_unacked = 0;
    }
    auto it = c_->streams.find(f.stream_id);
    if (it == c_->streams.end()) {
      bool never_opened = PeerParity(f.stream_id) ? f.stream_id > c_->last_peer_stream_id
                                                  : f.stream_id >= c_->next_stream_id;
      // Data racing our RST or FIN is normal; data on a stream that never existed is not.
      if (never_opened) c_->Control(EncodeRstStream(f.stream_id, kRstInvalidStream));
      return true;
    }
    std::shared_ptr<Stream::State> st = it->second;
    if (st->remote_fin) {
      c_->ResetLocked(*st, kRstStreamAlreadyClosed, true);
      return true;
    }
    st->recv_avail -= static_cast<int64_t>(len);
    if (st->abandoned) {
      st->unacked += len;
      GiveBack(*st);
    } else if (len > 0) {
      st->buffered += len;
      st->rbuf.push_back(std::move(f.payload));
    }
    if (f.flags & kFlagFin) st->remote_fin = true;
    c_->WakeStream(*st);
    if (st->remote_fin) c_->MaybeForget(*st);
    // A peer that overruns our window is held back, never reset: we stop reading the socket
    // until the application catches up (as spdystream holds its own peers back). Peers without
    // flow control (spdystream) overrun by design, and a flow-controlling sender may start
    // before our SETTINGS reach it (SPDY gives it no way to wait for them) and overrun too;
    // resetting either would lose stdin it legitimately sent.
    int64_t cap = std::max<int64_t>(c_->opts.receive_window, kMaxDataFrame);
    st->cv.wait(lk, [&] {
      return c_->ended || st->reset || st->abandoned || static_cast<int64_t>(st->buffered) <= cap;
    });
    return true;
  }

  void GiveBack(Stream::State& st) {
    size_t threshold = std::max<size_t>(c_->opts.receive_window / 2, 1);
    if (st.unacked >= threshold && !st.remote_fin && !st.reset && !c_->ended) {
      c_->Control(EncodeWindowUpdate(st.id, static_cast<uint32_t>(st.unacked)));
      st.recv_avail += static_cast<int64_t>(st.unacked);
      st.unacked = 0;
    }
  }

  bool OnSynStream(Frame& f) {
    // Always inflate: the zlib context must follow every block the peer compressed.
    Result<Headers> h = decompressor_.Decompress(f.payload);
    if (!h.ok() && h.status().code() == StatusCode::kDataLoss) {
      error = h.status().message();
      return false;
    }
    if (!PeerParity(f.stream_id) || f.stream_id <= c_->last_peer_stream_id) {
      error = "SYN_STREAM with stream id " + std::to_string(f.stream_id) + " out of order";
      return false;
    }
    c_->last_peer_stream_id = f.stream_id;
    if (!h.ok()) {
      c_->Control(EncodeRstStream(f.stream_id, kRstProtocolError));
      return true;
    }
    if (!c_->opts.server || c_->streams.size() >= kMaxConcurrentStreams) {
      c_->Control(EncodeRstStream(f.stream_id, kRstRefusedStream));
      return true;
    }
    auto st = std::make_shared<Stream::State>();
    st->id = f.stream_id;
    st->headers = std::move(h).value();
    st->core = c_;
    st->recv_avail = c_->opts.receive_window;
    st->send_window = c_->peer_initial_window;
    st->remote_fin = (f.flags & kFlagFin) != 0;
    st->local_fin = (f.flags & kFlagUnidirectional) != 0;
    st->replied = true;
    c_->streams[st->id] = st;
    c_->accept_q.push_back(st);
    c_->accept_cv.notify_one();
    return true;
  }

  bool OnReplyOrHeaders(Frame& f) {
    Result<Headers> h = decompressor_.Decompress(f.payload);
    if (!h.ok() && h.status().code() == StatusCode::kDataLoss) {
      error = h.status().message();
      return false;
    }
    auto it = c_->streams.find(f.stream_id);
    if (it == c_->streams.end()) return true;  // already closed or reset
    std::shared_ptr<Stream::State> st = it->second;
    if (!h.ok()) {
      c_->ResetLocked(*st, kRstProtocolError, true);
      return true;
    }
    if (f.type == FrameType::kSynReply) {
      if (st->replied) {
        c_->ResetLocked(*st, kRstStreamInUse, true);
        return true;
      }
      st->replied = true;
      st->reply_headers = std::move(h).value();
    } else {
      for (auto& [k, v] : *h) st->reply_headers.emplace(k, v);
    }
    if (f.flags & kFlagFin) st->remote_fin = true;
    c_->WakeStream(*st);
    if (st->remote_fin) c_->MaybeForget(*st);
    return true;
  }

  bool OnSettings(const Frame& f) {
    for (const Setting& s : f.settings) {
      if (s.id != kSettingsInitialWindowSize) continue;
      if (s.value > kMaxWindow) {
        error = "SETTINGS INITIAL_WINDOW_SIZE " + std::to_string(s.value) + " over 2^31-1";
        return false;
      }
      c_->peer_flow_control = true;
      int64_t delta = int64_t{s.value} - c_->peer_initial_window;
      c_->peer_initial_window = s.value;
      for (auto& [id, st] : c_->streams) {
        st->send_window += delta;
        c_->WakeStream(*st);
      }
    }
    return true;
  }

  bool OnWindowUpdate(const Frame& f) {
    c_->peer_flow_control = true;
    if (f.stream_id == 0) {
      c_->peer_session_flow_control = true;
      c_->session_send_window += f.delta;
      if (c_->session_send_window > kMaxWindow) {
        error = "session window over 2^31-1";
        return false;
      }
      for (auto& [id, st] : c_->streams) c_->WakeStream(*st);
      return true;
    }
    auto it = c_->streams.find(f.stream_id);
    if (it == c_->streams.end()) return true;
    std::shared_ptr<Stream::State> st = it->second;
    st->send_window += f.delta;
    if (st->send_window > kMaxWindow) {
      c_->ResetLocked(*st, kRstFlowControlError, true);
      return true;
    }
    c_->WakeStream(*st);
    return true;
  }

  std::shared_ptr<Core> c_;
  HeaderDecompressor decompressor_;
};

}  // namespace

void ReaderLoop(const std::shared_ptr<Core>& c, const std::string& preread) {
  FrameParser parser;
  Dispatcher dispatcher(c);
  parser.Append(preread);
  std::vector<char> buf(size_t{64} * 1024);
  bool linger = true;  // wait for the peer's EOF before we let the socket close
  std::unique_lock lk(c->mu);
  if (!c->fd.valid()) {
    c->EndLocked(std::nullopt, false);
    linger = false;
  }
  for (; !c->ended;) {
    // Frames already buffered (preread, or the rest of the last read).
    bool failed = false;
    while (!c->ended) {
      Result<std::optional<Frame>> f = parser.Next();
      if (!f.ok()) {
        dispatcher.error = f.status().message();
        failed = true;
        break;
      }
      if (!f->has_value()) break;
      if (!dispatcher.Handle(**f, lk)) {
        failed = true;
        break;
      }
    }
    if (failed) {
      c->EndLocked(kGoAwayProtocolError, false);
      linger = false;  // a broken peer gets no courtesy
      break;
    }
    if (c->ended) break;
    int timeout = -1;
    if (c->opts.idle_timeout.count() > 0) {
      auto left = c->last_activity + c->opts.idle_timeout - Clock::now();
      if (left <= Clock::duration::zero()) {
        c->EndLocked(kGoAwayOk, false);
        break;
      }
      timeout = static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(left).count());
    }
    lk.unlock();
    pollfd p{c->fd.get(), POLLIN, 0};
    int pr = ::poll(&p, 1, timeout);
    ssize_t n = 0;
    if (pr > 0) n = ::recv(c->fd.get(), buf.data(), buf.size(), 0);
    lk.lock();
    if (pr == 0) continue;  // idle check
    if (pr < 0 || n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      c->EndLocked(std::nullopt, false);
      linger = false;
      break;
    }
    if (n == 0) {
      c->EndLocked(std::nullopt, false);
      linger = false;
      break;
    }
    c->last_activity = Clock::now();
    parser.Append(std::string_view(buf.data(), static_cast<size_t>(n)));
  }
  std::function<void()> on_end = std::move(c->opts.on_end);
  lk.unlock();
  if (on_end) on_end();
  if (linger) {
    // Drain (and discard) until the peer closes, so the kernel never answers unread input
    // with a RST that could cut off what we sent last.
    auto deadline = Clock::now() + kLingerTimeout;
    for (;;) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) break;
      pollfd p{c->fd.get(), POLLIN, 0};
      int pr = ::poll(&p, 1, static_cast<int>(left));
      if (pr < 0 && errno == EINTR) continue;
      if (pr <= 0) break;
      ssize_t n = ::recv(c->fd.get(), buf.data(), buf.size(), 0);
      if (n <= 0 && !(n < 0 && errno == EINTR)) break;
    }
  }
  lk.lock();
  c->reader_done = true;
  c->state_cv.notify_all();
}

}  // namespace berth::streaming::spdy
