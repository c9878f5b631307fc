#include "cri/streaming/spdy/session.h"

#include <fcntl.h>
#include <sys/socket.h>

#include <algorithm>
#include <thread>

#include "cri/streaming/spdy/session_core.h"

namespace berth::streaming::spdy {

// ---------------------------------------------------------------------------------------------
// Stream

Stream::Stream(std::shared_ptr<State> state) : state_(std::move(state)) {}

Stream::~Stream() {
  std::shared_ptr<Core> c = state_->core.lock();
  if (!c) return;
  std::lock_guard lk(c->mu);
  State& st = *state_;
  if (st.reset || c->ended) return;
  // Dropped without a reset: finish our side, and throw away (but keep acknowledging) what
  // the peer still sends so neither it nor our reader thread stalls on this stream.
  if (!st.local_fin) {
    st.local_fin = true;
    std::string fin;
    AppendDataFrame(&fin, st.id, kFlagFin, {});
    c->Data(st.id, std::move(fin));
  }
  st.abandoned = true;
  st.rbuf.clear();
  st.unacked += st.buffered;
  st.buffered = 0;
  st.cv.notify_all();
  c->MaybeForget(st);
}

uint32_t Stream::id() const { return state_->id; }
const Headers& Stream::headers() const { return state_->headers; }

Headers Stream::reply_headers() const {
  std::shared_ptr<Core> c = state_->core.lock();
  if (!c) return state_->reply_headers;  // no thread can change it any more
  std::lock_guard lk(c->mu);
  return state_->reply_headers;
}

size_t Stream::Read(char* buf, size_t len) {
  if (len == 0) return 0;
  std::shared_ptr<Core> c = state_->core.lock();
  if (!c) return 0;
  std::unique_lock lk(c->mu);
  State& st = *state_;
  st.cv.wait(lk, [&] { return st.buffered > 0 || st.remote_fin || st.reset || c->ended; });
  if (st.buffered == 0) return 0;  // after a peer reset, what came before it is still read
  size_t n = 0;
  while (n < len && !st.rbuf.empty()) {
    std::string& front = st.rbuf.front();
    size_t take = std::min(len - n, front.size() - st.rbuf_off);
    std::copy_n(front.data() + st.rbuf_off, take, buf + n);
    n += take;
    st.rbuf_off += take;
    if (st.rbuf_off == front.size()) {
      st.rbuf.pop_front();
      st.rbuf_off = 0;
    }
  }
  st.buffered -= n;
  st.unacked += n;
  size_t threshold = std::max<size_t>(c->opts.receive_window / 2, 1);
  if (st.unacked >= threshold && !st.remote_fin && !c->ended) {
    c->Control(EncodeWindowUpdate(st.id, static_cast<uint32_t>(st.unacked)));
    st.recv_avail += static_cast<int64_t>(st.unacked);
    st.unacked = 0;
  }
  st.cv.notify_all();  // the reader thread may wait for room (peer without flow control)
  return n;
}

bool Stream::Write(std::string_view data) {
  std::shared_ptr<Core> c = state_->core.lock();
  if (!c) return false;
  std::unique_lock lk(c->mu);
  State& st = *state_;
  if (st.local_fin || st.reset || c->ended) return false;
  while (!data.empty()) {
    auto can_send = [&] {
      if (c->ended || st.reset || st.local_fin) return true;
      if (c->data_q_bytes >= kMaxQueuedData) return false;
      if (c->peer_flow_control && st.send_window <= 0) return false;
      if (c->peer_session_flow_control && c->session_send_window <= 0) return false;
      return true;
    };
    // Window changes (and resets, the session's end) wake st.cv; queue space wakes space_cv.
    while (!can_send()) {
      if (c->data_q_bytes >= kMaxQueuedData)
        c->space_cv.wait(lk);
      else
        st.cv.wait(lk);
    }
    if (c->ended || st.reset || st.local_fin) return false;
    size_t n = std::min(data.size(), kMaxDataFrame);
    if (c->peer_flow_control) n = std::min<size_t>(n, static_cast<size_t>(st.send_window));
    if (c->peer_session_flow_control)
      n = std::min<size_t>(n, static_cast<size_t>(c->session_send_window));
    // Windows are counted even before the peer showed flow control, so they are right the
    // moment it does (SETTINGS adjusts them by the difference to the initial 64 KiB).
    st.send_window -= static_cast<int64_t>(n);
    c->session_send_window -= static_cast<int64_t>(n);
    std::string frame;
    frame.reserve(kFrameHeaderSize + n);
    AppendDataFrame(&frame, st.id, 0, data.substr(0, n));
    c->Data(st.id, std::move(frame));
    data.remove_prefix(n);
  }
  return true;
}

void Stream::Close() {
  std::shared_ptr<Core> c = state_->core.lock();
  if (!c) return;
  std::lock_guard lk(c->mu);
  State& st = *state_;
  if (st.local_fin || st.reset || c->ended) return;
  st.local_fin = true;
  std::string fin;
  AppendDataFrame(&fin, st.id, kFlagFin, {});
  c->Data(st.id, std::move(fin));
  st.cv.notify_all();
  c->MaybeForget(st);
}

void Stream::Reset(uint32_t status) {
  std::shared_ptr<Core> c = state_->core.lock();
  if (!c) return;
  std::lock_guard lk(c->mu);
  if (c->ended || (state_->local_fin && state_->remote_fin)) return;
  c->ResetLocked(*state_, status == 0 ? kRstCancel : status, /*send=*/true);
}

bool Stream::WaitReply(std::chrono::milliseconds timeout) {
  std::shared_ptr<Core> c = state_->core.lock();
  if (!c) return state_->replied;
  std::unique_lock lk(c->mu);
  State& st = *state_;
  st.cv.wait_for(lk, timeout, [&] { return st.replied || st.reset || c->ended; });
  // A stream the peer accepted and then reset (a short exec is over before the client got to
  // wait) was still accepted.
  return st.replied;
}

bool Stream::Broken() const {
  std::shared_ptr<Core> c = state_->core.lock();
  if (!c) return true;
  std::lock_guard lk(c->mu);
  return state_->reset || c->ended;
}

// ---------------------------------------------------------------------------------------------
// Session

struct Session::Impl {
  std::shared_ptr<Core> core;
  std::thread reader;
  std::thread writer;
  std::mutex close_mu;
  bool closed = false;
};

Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Session::~Session() { Close(); }

std::unique_ptr<Session> Session::Start(UniqueFd socket, std::string preread,
                                        SessionOptions options) {
  auto c = std::make_shared<Core>();
  c->fd = std::move(socket);
  if (c->fd.valid()) {
    // The threads block in poll/send; a socket handed over from an asio acceptor may still be
    // in non-blocking mode.
    int fl = ::fcntl(c->fd.get(), F_GETFL);
    if (fl >= 0 && (fl & O_NONBLOCK)) ::fcntl(c->fd.get(), F_SETFL, fl & ~O_NONBLOCK);
  }
  options.receive_window =
      std::clamp<uint32_t>(options.receive_window, 1024, static_cast<uint32_t>(kMaxWindow));
  c->opts = std::move(options);
  c->next_stream_id = c->opts.server ? 2 : 1;
  c->next_ping_id = c->opts.server ? 2 : 1;
  c->session_window =
      static_cast<uint32_t>(std::min<uint64_t>(uint64_t{c->opts.receive_window} * 16, kMaxWindow));
  // Our SETTINGS first, then open the session window past SPDY/3.1's initial 64 KiB.
  c->Control(EncodeSettings({{0, kSettingsInitialWindowSize, c->opts.receive_window}}));
  if (c->session_window > kDefaultWindow)
    c->Control(EncodeWindowUpdate(0, c->session_window - kDefaultWindow));

  auto impl = std::make_unique<Impl>();
  impl->core = c;
  impl->writer = std::thread([c] { WriterLoop(c); });
  impl->reader = std::thread([c, pre = std::move(preread)] { ReaderLoop(c, pre); });
  return std::unique_ptr<Session>(new Session(std::move(impl)));
}

std::shared_ptr<Stream> Session::Accept(std::chrono::milliseconds timeout) {
  Core& c = *impl_->core;
  std::unique_lock lk(c.mu);
  auto deadline = Clock::now() + timeout;
  std::shared_ptr<Stream::State> st;
  while (!st) {
    if (!c.accept_cv.wait_until(lk, deadline, [&] { return !c.accept_q.empty() || c.ended; }))
      return nullptr;
    if (c.ended) return nullptr;
    st = std::move(c.accept_q.front());
    c.accept_q.pop_front();
    if (st->reset) st.reset();  // the peer gave up on it before we got to it
  }
  Result<std::string> block = c.compressor.Compress({});
  if (!block.ok()) {
    c.EndLocked(kGoAwayInternalError, false);
    return nullptr;
  }
  c.Control(EncodeSynReply(st->id, 0, *block));
  return std::shared_ptr<Stream>(new Stream(std::move(st)));
}

Result<std::shared_ptr<Stream>> Session::Open(const Headers& headers, bool fin) {
  BERTH_RETURN_IF_ERROR(ValidateHeaders(headers));
  Core& c = *impl_->core;
  std::lock_guard lk(c.mu);
  if (c.ended) return Unavailable("spdy session has ended");
  if (c.next_stream_id > kMaxStreamId) return Unavailable("spdy session ran out of stream ids");
  Result<std::string> block = c.compressor.Compress(headers);
  if (!block.ok()) return block.status();
  auto st = std::make_shared<Stream::State>();
  st->id = c.next_stream_id;
  c.next_stream_id += 2;
  st->headers = headers;
  st->core = impl_->core;
  st->recv_avail = c.opts.receive_window;
  st->send_window = c.peer_initial_window;
  st->local_fin = fin;
  c.streams[st->id] = st;
  c.Control(EncodeSynStream(st->id, fin ? kFlagFin : 0, *block));
  return std::shared_ptr<Stream>(new Stream(std::move(st)));
}

Result<std::chrono::microseconds> Session::Ping(std::chrono::milliseconds timeout) {
  Core& c = *impl_->core;
  std::unique_lock lk(c.mu);
  if (c.ended) return Unavailable("spdy session has ended");
  uint32_t id = c.next_ping_id;
  c.next_ping_id =
      c.next_ping_id + 2 > kMaxStreamId ? (c.next_ping_id & 1) + 2 : c.next_ping_id + 2;
  c.pings[id] = false;
  auto start = Clock::now();
  c.Control(EncodePing(id));
  bool done = c.ping_cv.wait_for(lk, timeout, [&] { return c.pings[id] || c.ended; });
  bool answered = c.pings[id];
  c.pings.erase(id);
  if (answered) return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
  if (!done) return Status(StatusCode::kDeadlineExceeded, "spdy PING: no answer in time");
  return Unavailable("spdy session has ended");
}

bool Session::Ended() const {
  std::lock_guard lk(impl_->core->mu);
  return impl_->core->ended;
}

bool Session::WaitEnded(std::chrono::milliseconds timeout) {
  Core& c = *impl_->core;
  std::unique_lock lk(c.mu);
  return c.state_cv.wait_for(lk, timeout, [&] { return c.ended; });
}

void Session::Close() {
  std::lock_guard close_lk(impl_->close_mu);
  if (impl_->closed) return;
  impl_->closed = true;
  Core& c = *impl_->core;
  {
    std::unique_lock lk(c.mu);
    c.EndLocked(kGoAwayOk, /*flush=*/true);
    // Let what was written before Close reach the peer, unless it will not read it.
    c.state_cv.wait_for(lk, kCloseFlushTimeout, [&] { return c.writer_done; });
    bool on_reader = impl_->reader.get_id() == std::this_thread::get_id();  // from on_end
    if (!c.writer_done || c.reader_done || on_reader) {
      ::shutdown(c.fd.get(), SHUT_RDWR);
    } else {
      c.state_cv.wait_for(lk, kLingerTimeout + std::chrono::milliseconds(500),
                          [&] { return c.reader_done; });
      if (!c.reader_done) ::shutdown(c.fd.get(), SHUT_RDWR);
    }
  }
  // Close called from on_end (the reader thread) must not join itself; the threads hold the
  // core, so detaching is safe.
  for (std::thread* t : {&impl_->reader, &impl_->writer}) {
    if (!t->joinable()) continue;
    if (t->get_id() == std::this_thread::get_id())
      t->detach();
    else
      t->join();
  }
}

}  // namespace berth::streaming::spdy
