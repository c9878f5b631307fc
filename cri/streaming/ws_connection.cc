#include "cri/streaming/ws_connection.h"

#include <sys/socket.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

namespace berth::streaming {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using Socket = net::generic::stream_protocol::socket;
using Clock = std::chrono::steady_clock;

namespace {

// Bytes queued for one channel before the reader stops taking messages from the socket (the
// session is then held until the consumer catches up: TCP pushes back on the client).
constexpr size_t kQueueLimit = size_t{4} * 1024 * 1024;
// One message carries at most this much of a Write (a multiple of 3: whole base64 groups).
constexpr size_t kMessageChunk = size_t{3} * 64 * 1024;
constexpr uint8_t kCloseSignal = 255;
constexpr auto kCloseWait = std::chrono::seconds(5);

std::string Base64Encode(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  for (size_t i = 0; i < in.size(); i += 3) {
    uint32_t v = static_cast<uint8_t>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<uint8_t>(in[i + 1]) << 8;
    if (i + 2 < in.size()) v |= static_cast<uint8_t>(in[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kAlphabet[v & 63] : '=';
  }
  return out;
}

// Standard base64 with padding (Go's base64.StdEncoding). False on anything else.
bool Base64Decode(std::string_view in, std::string* out) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (in.size() % 4 != 0) return false;
  out->clear();
  for (size_t i = 0; i < in.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      char c = in[i + k];
      if (c == '=' && i + 4 == in.size() && k >= 2) {
        v[k] = 0;
        ++pad;
      } else if (pad > 0 || (v[k] = value(c)) < 0) {
        return false;
      }
    }
    uint32_t n = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
    out->push_back(static_cast<char>(n >> 16));
    if (pad < 2) out->push_back(static_cast<char>((n >> 8) & 0xff));
    if (pad < 1) out->push_back(static_cast<char>(n & 0xff));
  }
  return true;
}

struct ChannelState {
  std::deque<std::string> queue;
  size_t offset = 0;  // into queue.front()
  size_t bytes = 0;
  bool eof = false;
  bool closed_out = false;
};

struct WriteJob {
  std::string msg;
  bool close = false;  // a close frame with `reason` instead of a message
  websocket::close_reason reason;
  std::shared_ptr<int> result;  // 0 pending, 1 written, -1 failed; guarded by mu
};

}  // namespace

struct WsConnectionImpl {
  WsConnectionImpl(WsProtocol p, int n, uint64_t readable_mask, std::chrono::milliseconds idle,
                   CancelSource& c, Logger l, int family, int fd)
      : ws(ioc, net::generic::stream_protocol(family, family == AF_UNIX ? 0 : IPPROTO_TCP), fd),
        idle_timer(ioc),
        close_timer(ioc),
        proto(std::move(p)),
        nchannels(n),
        readable(readable_mask),
        idle_timeout(idle),
        cancel(c),
        logger(std::move(l)),
        channels(n) {}

  net::io_context ioc;
  websocket::stream<Socket> ws;
  net::steady_timer idle_timer;
  net::steady_timer close_timer;
  beast::flat_buffer rbuf;
  WsProtocol proto;
  const int nchannels;
  const uint64_t readable;
  const std::chrono::milliseconds idle_timeout;
  CancelSource& cancel;
  Logger logger;
  std::thread io_thread;
  std::atomic<Clock::rep> last_activity{Clock::now().time_since_epoch().count()};
  std::vector<std::unique_ptr<WsChannel>> handles;

  std::mutex mu;
  std::condition_variable cv;
  std::vector<ChannelState> channels;  // guarded by mu
  bool ended = false;                  // guarded by mu
  bool finishing = false;              // guarded by mu
  bool paused = false;                 // guarded by mu
  std::deque<WriteJob> wq;             // guarded by mu
  bool writing = false;                // I/O thread only
  bool reading = false;                // I/O thread only: an async_read is pending

  void Touch() { last_activity = Clock::now().time_since_epoch().count(); }

  void ArmIdle(std::chrono::nanoseconds after) {
    if (idle_timeout.count() <= 0) return;
    idle_timer.expires_after(after);
    idle_timer.async_wait([this](beast::error_code ec) {
      if (ec) return;
      auto idle = Clock::now() - Clock::time_point(Clock::duration(last_activity.load()));
      if (idle >= idle_timeout) {
        End("idle timeout");
      } else {
        ArmIdle(idle_timeout - idle);
      }
    });
  }

  void DoRead() {
    reading = true;
    ws.async_read(rbuf, [this](beast::error_code ec, size_t) { OnRead(ec); });
  }

  // After a paused reader's queue drained (any thread).
  void ResumeLocked() {
    if (!paused) return;
    paused = false;
    net::post(ioc, [this] {
      std::lock_guard lock(mu);
      if (!ended && !paused && !reading) DoRead();
    });
  }

  void OnRead(beast::error_code ec) {
    reading = false;
    if (ec) {
      bool normal = ec == websocket::error::closed || ec == net::error::eof ||
                    ec == net::error::operation_aborted;
      End(normal ? "" : ec.message());
      return;
    }
    Touch();
    std::string msg = beast::buffers_to_string(rbuf.data());
    rbuf.consume(rbuf.size());
    websocket::close_code code = websocket::close_code::protocol_error;
    std::string err = Dispatch(msg, &code);
    if (!err.empty()) {
      logger.Warn("closing WebSocket connection", {{"error", err}});
      // Answer with a close frame naming the problem; stop reading and drop the connection
      // once the close is sent (or after kCloseWait).
      Enqueue(WriteJob{"", true, websocket::close_reason(code, err), nullptr});
      return;
    }
    std::lock_guard lock(mu);
    if (ended) return;
    if (paused) return;  // resumed by a channel Read
    DoRead();
  }

  // Files one message under its channel; an error message for what must end the connection.
  std::string Dispatch(const std::string& msg, websocket::close_code* code) {
    if (msg.empty()) return "";
    uint8_t first = static_cast<uint8_t>(msg[0]);
    std::lock_guard lock(mu);
    if (proto.close_signal && first == kCloseSignal) {
      if (msg.size() != 2) return "a close signal must name exactly one channel";
      int ch = static_cast<uint8_t>(msg[1]);
      if (ch >= nchannels) return "close signal for unknown channel " + std::to_string(ch);
      channels[ch].eof = true;
      cv.notify_all();
      return "";
    }
    int ch = proto.base64 ? static_cast<int>(first) - '0' : first;
    if (ch < 0 || ch >= nchannels) return "message for unknown channel " + std::to_string(ch);
    if (!(readable & (uint64_t{1} << ch))) return "";  // a write-only channel: ignored
    ChannelState& c = channels[ch];
    if (c.eof) return "";
    std::string payload;
    if (proto.base64) {
      if (!Base64Decode(std::string_view(msg).substr(1), &payload)) {
        *code = websocket::close_code::bad_payload;
        return "invalid base64 payload on channel " + std::to_string(ch);
      }
    } else {
      payload = msg.substr(1);
    }
    if (payload.empty()) return "";
    c.bytes += payload.size();
    c.queue.push_back(std::move(payload));
    if (c.bytes > kQueueLimit) paused = true;
    cv.notify_all();
    return "";
  }

  // Queues a write (from any thread); `reason` is used for a close job.
  void Enqueue(WriteJob job) {
    {
      std::lock_guard lock(mu);
      if (ended) {
        if (job.result) *job.result = -1;
        cv.notify_all();
        return;
      }
      wq.push_back(std::move(job));
    }
    net::post(ioc, [this] {
      if (!writing) StartWrite();
    });
  }

  void StartWrite() {
    WriteJob* job;
    {
      std::lock_guard lock(mu);
      if (wq.empty() || ended) return;
      job = &wq.front();  // stays valid: only this thread pops
    }
    writing = true;
    if (job->close) {
      close_timer.expires_after(kCloseWait);
      close_timer.async_wait([this](beast::error_code ec) {
        if (!ec) End("");
      });
      ws.async_close(job->reason, [this](beast::error_code) { End(""); });
      return;
    }
    ws.async_write(net::buffer(job->msg), [this](beast::error_code ec, size_t) {
      Touch();
      std::unique_lock lock(mu);
      if (!wq.empty()) {
        if (wq.front().result) *wq.front().result = ec ? -1 : 1;
        wq.pop_front();
      }
      cv.notify_all();
      bool more = !wq.empty() && !ended;
      lock.unlock();
      writing = false;
      if (ec) {
        End(ec.message());
      } else if (more) {
        StartWrite();
      }
    });
  }

  // The connection is over (I/O thread). Idempotent.
  void End(const std::string& why) {
    bool fire;
    {
      std::lock_guard lock(mu);
      if (ended) return;
      ended = true;
      for (auto& c : channels) c.eof = true;
      for (auto& j : wq) {
        if (j.result && *j.result == 0) *j.result = -1;
      }
      // A write in flight still uses its job's buffer: its completion handler drops it.
      wq.erase(writing && !wq.empty() ? wq.begin() + 1 : wq.begin(), wq.end());
      fire = !finishing;
      cv.notify_all();
    }
    if (!why.empty()) logger.Info("WebSocket connection ended", {{"reason", why}});
    idle_timer.cancel();
    close_timer.cancel();
    beast::error_code ignored;
    beast::get_lowest_layer(ws).shutdown(net::socket_base::shutdown_both, ignored);
    beast::get_lowest_layer(ws).close(ignored);
    if (fire) cancel.Fire();
  }

  size_t Read(int i, char* buf, size_t len) {
    std::unique_lock lock(mu);
    ChannelState& c = channels[i];
    cv.wait(lock, [&] { return !c.queue.empty() || c.eof; });
    if (c.queue.empty()) return 0;
    std::string& front = c.queue.front();
    size_t n = std::min(len, front.size() - c.offset);
    front.copy(buf, n, c.offset);
    c.offset += n;
    c.bytes -= n;
    if (c.offset == front.size()) {
      c.queue.pop_front();
      c.offset = 0;
    }
    if (c.bytes < kQueueLimit / 2) ResumeLocked();
    return n;
  }

  bool Write(int i, std::string_view data) {
    do {
      std::string_view part = data.substr(0, kMessageChunk);
      data.remove_prefix(part.size());
      WriteJob job;
      if (proto.base64) {
        job.msg = static_cast<char>('0' + i) + Base64Encode(part);
      } else {
        job.msg.reserve(part.size() + 1);
        job.msg += static_cast<char>(i);
        job.msg += part;
      }
      job.result = std::make_shared<int>(0);
      auto result = job.result;
      {
        std::lock_guard lock(mu);
        if (channels[i].closed_out) return false;
      }
      Enqueue(std::move(job));
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return *result != 0; });
      if (*result < 0) return false;
    } while (!data.empty());
    return true;
  }
};

size_t WsChannel::Read(char* buf, size_t len) { return conn_->Read(index_, buf, len); }
bool WsChannel::Write(std::string_view data) { return conn_->Write(index_, data); }
void WsChannel::Stop() {
  std::lock_guard lock(conn_->mu);
  ChannelState& c = conn_->channels[index_];
  c.eof = true;
  c.queue.clear();
  c.offset = 0;
  c.bytes = 0;
  conn_->cv.notify_all();
  conn_->ResumeLocked();
}

void WsChannel::Close() {
  std::lock_guard lock(conn_->mu);
  conn_->channels[index_].closed_out = true;
}

Result<std::unique_ptr<WsConnection>> WsConnection::Accept(UniqueFd socket, const Request& req,
                                                           WsProtocol protocol, int channels,
                                                           uint64_t readable,
                                                           std::chrono::milliseconds idle_timeout,
                                                           CancelSource& cancel, Logger logger) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (::getsockname(socket.get(), reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return ErrnoStatus(errno, "getsockname");
  }
  std::string name = protocol.name;
  bool text = protocol.base64;
  auto impl =
      std::make_unique<WsConnectionImpl>(std::move(protocol), channels, readable, idle_timeout,
                                         cancel, std::move(logger), ss.ss_family, socket.release());
  impl->ws.set_option(websocket::stream_base::decorator([name](websocket::response_type& res) {
    res.set(beast::http::field::server, "berthd");
    if (!name.empty()) res.set(beast::http::field::sec_websocket_protocol, name);
  }));
  impl->ws.read_message_max(size_t{16} * 1024 * 1024);
  impl->ws.auto_fragment(false);
  if (text) {
    impl->ws.text(true);
  } else {
    impl->ws.binary(true);
  }
  beast::error_code ec;
  impl->ws.accept(req, ec);  // on a bad handshake Beast has answered with an HTTP error
  if (ec) return InvalidArgument("WebSocket handshake: " + ec.message());
  for (int i = 0; i < channels; ++i) {
    impl->handles.push_back(std::make_unique<WsChannel>(impl.get(), i));
  }
  WsConnectionImpl* p = impl.get();
  p->Touch();
  p->ArmIdle(p->idle_timeout);
  p->DoRead();
  p->io_thread = std::thread([p] { p->ioc.run(); });
  return std::unique_ptr<WsConnection>(new WsConnection(std::move(impl)));
}

WsConnection::WsConnection(std::unique_ptr<WsConnectionImpl> impl) : impl_(std::move(impl)) {}

WsConnection::~WsConnection() { Finish(); }

WsChannel& WsConnection::channel(int i) { return *impl_->handles.at(i); }

bool WsConnection::Ended() const {
  std::lock_guard lock(impl_->mu);
  return impl_->ended;
}

void WsConnection::Finish() {
  WsConnectionImpl* p = impl_.get();
  {
    std::lock_guard lock(p->mu);
    if (p->finishing) {
      // Already finished (or finishing on another thread, which joins).
      return;
    }
    p->finishing = true;
  }
  p->Enqueue(WriteJob{"", true, websocket::close_code::normal, nullptr});
  if (p->io_thread.joinable()) p->io_thread.join();
}

}  // namespace berth::streaming
