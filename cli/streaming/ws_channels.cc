#include "cli/streaming/ws_channels.h"

#include <sys/socket.h>

#include <array>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/core/detail/base64.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

namespace berth::cli::streaming {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
using boost::system::error_code;
using Socket = asio::generic::stream_protocol::socket;

namespace {
constexpr size_t kHighWater = 4UL * 1024 * 1024;
constexpr size_t kLowWater = 1024 * 1024UL;
constexpr size_t kMaxMessage = 32 * 1024UL;
}  // namespace

struct WsChannels::Impl {
  asio::io_context io;
  websocket::stream<Socket> ws{io};
  std::shared_ptr<TlsBridge> bridge;
  std::string protocol;
  bool base64 = false;
  std::thread thread;
  std::mutex close_mu;  // one close handshake at a time (Beast allows one async_close)

  // Receive side (guarded by mu).
  mutable std::mutex mu;
  std::condition_variable cv;
  std::array<std::deque<std::string>, 256> queues;
  std::array<size_t, 256> queued{};
  bool ended = false;
  bool paused = false;
  std::string reason;
  beast::flat_buffer rbuf;

  // Send side (io thread only).
  struct Out {
    std::string message;
    bool text;
    std::promise<bool> done;
  };
  std::deque<std::shared_ptr<Out>> outq;
  bool writing = false;
  bool write_failed = false;

  void StartRead() {
    ws.async_read(rbuf, [this](error_code ec, size_t) { OnRead(ec); });
  }

  void OnRead(error_code ec) {
    if (ec) {
      std::string why;
      if (ec == websocket::error::closed) {
        auto r = ws.reason();
        why = r.code == websocket::close_code::normal
                  ? "normal"
                  : "closed by the server (code " + std::to_string(r.code) +
                        (r.reason.empty() ? ""
                                          : ": " + std::string(r.reason.data(), r.reason.size())) +
                        ")";
      } else {
        why = ec.message();
      }
      End(why);
      return;
    }
    std::string msg = beast::buffers_to_string(rbuf.data());
    rbuf.consume(rbuf.size());
    bool pause = false;
    if (!msg.empty()) {
      uint8_t ch;
      std::string data;
      if (base64) {
        ch = static_cast<uint8_t>(msg[0] - '0');
        std::string_view enc(msg.data() + 1, msg.size() - 1);
        data.resize(beast::detail::base64::decoded_size(enc.size()));
        auto r = beast::detail::base64::decode(data.data(), enc.data(), enc.size());
        data.resize(r.first);
      } else {
        ch = static_cast<uint8_t>(msg[0]);
        data = msg.substr(1);
      }
      std::lock_guard<std::mutex> lock(mu);
      if (!data.empty()) {
        queued[ch] += data.size();
        queues[ch].push_back(std::move(data));
        cv.notify_all();
        if (queued[ch] > kHighWater) pause = paused = true;
      }
    }
    if (!pause) StartRead();
  }

  void End(std::string why) {
    std::lock_guard<std::mutex> lock(mu);
    if (!ended) {
      ended = true;
      reason = std::move(why);
    }
    cv.notify_all();
  }

  // io thread
  void Enqueue(std::shared_ptr<Out> out) {
    if (write_failed) {
      out->done.set_value(false);
      return;
    }
    outq.push_back(std::move(out));
    if (!writing) WriteNext();
  }

  void WriteNext() {
    if (outq.empty()) {
      writing = false;
      return;
    }
    writing = true;
    auto out = outq.front();
    ws.text(out->text);
    ws.async_write(asio::buffer(out->message), [this, out](error_code ec, size_t) {
      outq.pop_front();
      if (ec) {
        write_failed = true;
        out->done.set_value(false);
        for (auto& o : outq) o->done.set_value(false);
        outq.clear();
        writing = false;
        return;
      }
      out->done.set_value(true);
      WriteNext();
    });
  }

  bool Send(std::string message, bool text) {
    auto out = std::make_shared<Out>();
    out->message = std::move(message);
    out->text = text;
    std::future<bool> f = out->done.get_future();
    {
      std::lock_guard<std::mutex> lock(mu);
      if (ended) return false;
    }
    asio::post(io, [this, out] { Enqueue(out); });
    return f.get();
  }
};

WsChannels::WsChannels(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

WsChannels::~WsChannels() {
  Close();
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

Result<std::unique_ptr<WsChannels>> WsChannels::Connect(const StreamUrl& url,
                                                        const std::vector<std::string>& protocols,
                                                        const DialOptions& options) {
  auto dialed = Dial(url, options);
  if (!dialed.ok()) return dialed.status();
  auto impl = std::make_unique<Impl>();
  impl->bridge = dialed->bridge;
  error_code ec;
  int raw = dialed->fd.release();
  impl->ws.next_layer().assign(asio::generic::stream_protocol(dialed->family, SOCK_STREAM), raw,
                               ec);
  if (ec) {
    ::close(raw);
    return Internal("adopting the socket: " + ec.message());
  }
  std::string offered;
  for (const auto& p : protocols) offered += (offered.empty() ? "" : ", ") + p;
  impl->ws.set_option(websocket::stream_base::decorator([offered](websocket::request_type& req) {
    req.set(http::field::user_agent, "berthctl");
    if (!offered.empty()) req.set(http::field::sec_websocket_protocol, offered);
  }));
  websocket::stream_base::timeout to;
  to.handshake_timeout = options.timeout;
  to.idle_timeout = websocket::stream_base::none();
  to.keep_alive_pings = false;
  impl->ws.set_option(to);
  impl->ws.read_message_max(64UL * 1024 * 1024);

  // The handshake runs on this thread's io.run() so that the timeout applies.
  websocket::response_type res;
  error_code hs_ec;
  bool done = false;
  impl->ws.async_handshake(res, url.HostPort(), url.target, [&](error_code e) {
    hs_ec = e;
    done = true;
  });
  // Only until the handshake completes: Beast's handshake timer may stay armed after a
  // refused upgrade, and io.run() would wait for it.
  while (!done && impl->io.run_one() > 0) {
  }
  if (!done) return Internal("WebSocket handshake did not complete");
  if (hs_ec) {
    std::string what = "upgrading " + url.ToString() + " to WebSocket: ";
    if (res.result_int() != 0 && res.result() != http::status::switching_protocols) {
      std::string body = res.body();
      while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
      return Unavailable(what + std::to_string(res.result_int()) + " " + std::string(res.reason()) +
                         (body.empty() ? "" : ": " + body));
    }
    return Unavailable(what + hs_ec.message());
  }
  impl->protocol = std::string(res[http::field::sec_websocket_protocol]);
  impl->base64 = impl->protocol.find("base64.") != std::string::npos;
  if (!impl->protocol.empty()) {
    bool known = false;
    for (const auto& p : protocols) known = known || p == impl->protocol;
    if (!known) {
      return Unavailable("the server chose WebSocket subprotocol \"" + impl->protocol +
                         "\", which was not offered");
    }
  }
  impl->ws.binary(!impl->base64);
  Impl* p = impl.get();
  p->StartRead();
  p->thread = std::thread([p] {
    auto guard = asio::make_work_guard(p->io);  // stays up for posted writes
    p->io.run();
  });
  return std::unique_ptr<WsChannels>(new WsChannels(std::move(impl)));
}

const std::string& WsChannels::protocol() const { return impl_->protocol; }

size_t WsChannels::Read(uint8_t channel, char* buf, size_t len) {
  Impl& m = *impl_;
  std::unique_lock<std::mutex> lock(m.mu);
  m.cv.wait(lock, [&] { return !m.queues[channel].empty() || m.ended; });
  if (m.queues[channel].empty()) return 0;
  std::string& front = m.queues[channel].front();
  size_t n = std::min(len, front.size());
  front.copy(buf, n);  // raw bytes, not a C string
  if (n == front.size()) {
    m.queues[channel].pop_front();
  } else {
    front.erase(0, n);
  }
  m.queued[channel] -= n;
  if (m.paused && m.queued[channel] < kLowWater) {
    bool still = false;
    for (size_t q : m.queued) still = still || q > kHighWater;
    if (!still) {
      m.paused = false;
      asio::post(m.io, [&m] { m.StartRead(); });
    }
  }
  return n;
}

bool WsChannels::Write(uint8_t channel, std::string_view data) {
  do {
    std::string_view part = data.substr(0, kMaxMessage);
    data.remove_prefix(part.size());
    std::string msg;
    if (impl_->base64) {
      msg.resize(1 + beast::detail::base64::encoded_size(part.size()));
      msg[0] = static_cast<char>('0' + channel);
      size_t n = beast::detail::base64::encode(msg.data() + 1, part.data(), part.size());
      msg.resize(1 + n);
    } else {
      msg.reserve(1 + part.size());
      msg.push_back(static_cast<char>(channel));
      msg.append(part);
    }
    if (!impl_->Send(std::move(msg), impl_->base64)) return false;
  } while (!data.empty());
  return true;
}

bool WsChannels::WriteRaw(std::string message) {
  if (impl_->base64) {
    // base64.channel.k8s.io has no close signal; nothing to send.
    return !Ended();
  }
  return impl_->Send(std::move(message), false);
}

void WsChannels::Close() {
  Impl& m = *impl_;
  std::lock_guard<std::mutex> close_lock(m.close_mu);
  if (Ended() || !m.thread.joinable()) return;
  auto closed = std::make_shared<std::promise<void>>();
  auto f = closed->get_future();
  asio::post(m.io, [&m, closed] {
    m.ws.async_close(websocket::close_code::normal, [closed](error_code) { closed->set_value(); });
  });
  f.wait_for(std::chrono::seconds(5));
  // The read loop sees the server's close frame (or the teardown) and ends the channels.
  std::unique_lock<std::mutex> lock(m.mu);
  m.cv.wait_for(lock, std::chrono::seconds(5), [&] { return m.ended; });
  if (!m.ended) {
    m.ended = true;
    m.reason = "closed";
    m.cv.notify_all();
  }
}

bool WsChannels::Ended() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->ended;
}

std::string WsChannels::close_reason() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->reason;
}

}  // namespace berth::cli::streaming
