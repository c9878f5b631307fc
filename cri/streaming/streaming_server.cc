// StreamingServer: the acceptor, one thread per connection, the HTTP request, routing, tokens,
// the SPDY/WebSocket upgrade and protocol negotiation. What runs after the upgrade lives in
// spdy_handlers.cc and ws_handlers.cc.
#include "cri/streaming/streaming_server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <fcntl.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <list>
#include <mutex>
#include <optional>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "cri/streaming/http_util.h"
#include "cri/streaming/request_cache.h"
#include "cri/streaming/spdy_handlers.h"
#include "cri/streaming/tls_proxy.h"
#include "cri/streaming/ws_handlers.h"

namespace berth::streaming {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using Request = http::request<http::string_body>;

namespace {

// Unused tokens kept at most (kubelet's default in-flight limit).
constexpr size_t kMaxInFlight = 1000;
// A client must have sent its whole request (and TLS handshake) within this; a connection
// that idles before that holds a thread, so the watchdog cuts it off.
constexpr auto kRequestTimeout = std::chrono::seconds(30);

}  // namespace

struct StreamingServer::Impl {
  Impl(StreamingOptions o, StreamBackend& b, Logger l)
      : options(std::move(o)),
        backend(b),
        logger(std::move(l)),
        cache(options.token_ttl, kMaxInFlight),
        acceptor(ioc) {}

  struct Conn {
    std::thread thread;
    // A dup of the client socket (shutdown() ends every read of it, whoever owns the socket
    // by then); closed by the connection thread when it ends. Guarded by mu.
    UniqueFd abort_fd;
    std::chrono::steady_clock::time_point request_deadline;  // guarded by mu; max: past it
    bool done = false;                                       // guarded by mu
  };

  StreamingOptions options;
  StreamBackend& backend;
  Logger logger;
  RequestCache cache;
  net::io_context ioc;
  tcp::acceptor acceptor;
  std::optional<ssl::context> tls;
  std::string base_url;
  std::thread accept_thread;
  std::thread watchdog_thread;

  std::mutex mu;
  std::condition_variable watchdog_cv;
  bool stopping = false;                   // guarded by mu
  std::list<std::unique_ptr<Conn>> conns;  // guarded by mu

  void AcceptLoop();
  // Once a second: cuts off connections still without a request after kRequestTimeout, and
  // joins finished connection threads.
  void Watchdog();
  void ServeConnection(int fd, Conn* conn);
  template <class Stream>
  void Handle(Stream& stream, int fd, beast::flat_buffer& buf, Request& req,
              const std::function<Result<UniqueFd>()>& take_plain);
  template <class Stream>
  void Respond(Stream& stream, int fd, const Request& req, http::status status,
               const std::string& body,
               const std::vector<std::pair<std::string, std::string>>& headers = {});
  Result<std::string> Issue(CachedRequest request, const char* route);
};

void StreamingServer::Impl::AcceptLoop() {
  for (;;) {
    int fd = ::accept4(acceptor.native_handle(), nullptr, nullptr, SOCK_CLOEXEC);
    std::lock_guard lock(mu);
    if (stopping) {
      if (fd >= 0) ::close(fd);
      return;
    }
    if (fd < 0) {
      if (errno != EINTR && errno != ECONNABORTED) {
        logger.Warn("accept failed", {{"error", std::strerror(errno)}});
        std::this_thread::sleep_for(std::chrono::milliseconds(100));  // e.g. EMFILE
      }
      continue;
    }
    // Sessions exchange small frames in both directions (a SYN_REPLY, an exit status): with
    // Nagle's algorithm each would wait for the peer's delayed ACK, ~40 ms per exec.
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto conn = std::make_unique<Conn>();
    conn->abort_fd.reset(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
    conn->request_deadline = std::chrono::steady_clock::now() + kRequestTimeout;
    Conn* c = conn.get();
    c->thread = std::thread([this, c, fd] {
      ServeConnection(fd, c);
      std::lock_guard lock(mu);
      c->abort_fd.reset();
      c->done = true;
    });
    conns.push_back(std::move(conn));
  }
}

void StreamingServer::Impl::Watchdog() {
  std::unique_lock lock(mu);
  while (!stopping) {
    watchdog_cv.wait_for(lock, std::chrono::seconds(1));
    auto now = std::chrono::steady_clock::now();
    for (auto it = conns.begin(); it != conns.end();) {
      Conn& c = **it;
      if (c.done) {
        c.thread.join();  // it has returned: only the exit is left
        it = conns.erase(it);
        continue;
      }
      if (now > c.request_deadline && c.abort_fd) {
        ::shutdown(c.abort_fd.get(), SHUT_RDWR);
        c.request_deadline = std::chrono::steady_clock::time_point::max();
      }
      ++it;
    }
  }
}

template <class Stream>
void StreamingServer::Impl::Respond(
    Stream& stream, int fd, const Request& req, http::status status, const std::string& body,
    const std::vector<std::pair<std::string, std::string>>& headers) {
  http::response<http::string_body> res{status, req.version() ? req.version() : 11};
  res.set(http::field::server, "berthd");
  res.set(http::field::content_type, "text/plain; charset=utf-8");
  for (const auto& [k, v] : headers) res.insert(k, v);
  res.keep_alive(false);
  res.body() = body + "\n";
  res.prepare_payload();
  beast::error_code ec;
  http::write(stream, res, ec);
  LingeringClose(fd);
}

Result<std::string> StreamingServer::Impl::Issue(CachedRequest request, const char* route) {
  {
    std::lock_guard lock(mu);
    if (stopping) return Unavailable("the streaming server is not running");
  }
  auto token = cache.Insert(std::move(request));
  if (!token.ok()) return token.status();
  return base_url + "/" + route + "/" + *token;
}

void StreamingServer::Impl::ServeConnection(int fd, Conn* conn) {
  auto request_read = [&] {
    std::lock_guard lock(mu);
    conn->request_deadline = std::chrono::steady_clock::time_point::max();
  };
  net::io_context conn_ioc;
  tcp::socket sock(conn_ioc);
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  beast::error_code ec;
  sock.assign(ss.ss_family == AF_INET6 ? tcp::v6() : tcp::v4(), fd, ec);
  if (ec) {
    ::close(fd);
    return;
  }
  beast::flat_buffer buf;
  http::request_parser<http::string_body> parser;
  parser.header_limit(uint32_t{64} * 1024);
  parser.body_limit(uint64_t{64} * 1024);

  if (!tls) {
    http::read(sock, buf, parser, ec);
    if (ec) return;  // not HTTP, or the client went away: nothing to answer
    request_read();
    Request req = parser.release();
    Handle(sock, fd, buf, req, [&]() -> Result<UniqueFd> { return UniqueFd(sock.release()); });
    return;
  }
  TlsProxy::TlsStream stream(std::move(sock), *tls);
  stream.handshake(ssl::stream_base::server, ec);
  if (ec) {
    logger.Debug("TLS handshake failed", {{"error", ec.message()}});
    return;
  }
  http::read(stream, buf, parser, ec);
  if (ec) return;
  request_read();
  Request req = parser.release();
  std::unique_ptr<TlsProxy> proxy;
  Handle(stream, fd, buf, req, [&]() -> Result<UniqueFd> {
    UniqueFd plain;
    auto p = TlsProxy::Start(conn_ioc, stream, &plain);
    if (!p.ok()) return p.status();
    proxy = std::move(*p);
    return plain;
  });
  // `proxy` joins here, before the stream it borrows dies.
}

template <class Stream>
void StreamingServer::Impl::Handle(Stream& stream, int fd, beast::flat_buffer& buf, Request& req,
                                   const std::function<Result<UniqueFd>()>& take_plain) {
  std::string_view target = SV(req.target());
  std::string_view path = target.substr(0, target.find('?'));
  std::string_view query =
      path.size() < target.size() ? target.substr(path.size() + 1) : std::string_view();
  std::string route, token;
  for (const char* r : {"exec", "attach", "portforward"}) {
    std::string prefix = "/" + std::string(r) + "/";
    if (path.substr(0, prefix.size()) == prefix) {
      route = r;
      token = std::string(path.substr(prefix.size()));
    }
  }
  if (route.empty() || token.empty() || token.find('/') != std::string::npos) {
    return Respond(stream, fd, req, http::status::not_found, "404 page not found");
  }
  if (req.method() != http::verb::get && req.method() != http::verb::post) {
    return Respond(stream, fd, req, http::status::method_not_allowed,
                   "method " + std::string(SV(req.method_string())) + " is not allowed on /" +
                       route + "/ (use GET or POST)",
                   {{"Allow", "GET, POST"}});
  }
  bool websocket = beast::websocket::is_upgrade(req);
  bool spdy =
      !websocket && HasToken(req, "Connection", "upgrade") && HasToken(req, "Upgrade", "SPDY/3.1");
  if (!websocket && !spdy) {
    return Respond(
        stream, fd, req, http::status::bad_request,
        "unable to upgrade: this URL needs a SPDY/3.1 or WebSocket upgrade "
        "(\"Connection: Upgrade\" with \"Upgrade: SPDY/3.1\" or \"Upgrade: websocket\")");
  }
  std::optional<CachedRequest> cached = cache.Consume(token);
  bool kind_ok =
      cached &&
      ((route == "exec" && std::holds_alternative<runtime::v1::ExecRequest>(*cached)) ||
       (route == "attach" && std::holds_alternative<runtime::v1::AttachRequest>(*cached)) ||
       (route == "portforward" &&
        std::holds_alternative<runtime::v1::PortForwardRequest>(*cached)));
  if (!kind_ok) {
    return Respond(stream, fd, req, http::status::not_found,
                   "unknown, expired or already used streaming token (ask the runtime for a new "
                   "URL)");
  }
  bool port_forward = route == "portforward";
  Logger log = logger.With({{"route", route}, {"transport", websocket ? "websocket" : "spdy"}});
  CancelSource cancel;

  if (spdy) {
    std::vector<std::string> offered = HeaderList(req, "X-Stream-Protocol-Version");
    std::vector<std::string> supported;
    if (port_forward) {
      supported.assign(std::begin(kSpdyPortForwardProtocols), std::end(kSpdyPortForwardProtocols));
    } else {
      supported.assign(std::begin(kSpdyRemoteCommandProtocols),
                       std::end(kSpdyRemoteCommandProtocols));
    }
    std::string chosen;  // server preference order, as kubelet's httpstream.Handshake
    for (const std::string& s : supported) {
      for (const std::string& c : offered) {
        if (chosen.empty() && c == s) chosen = s;
      }
    }
    if (!offered.empty() && chosen.empty()) {
      std::vector<std::pair<std::string, std::string>> headers;
      headers.reserve(supported.size());
      for (const auto& s : supported) headers.emplace_back("X-Stream-Protocol-Version", s);
      return Respond(stream, fd, req, http::status::forbidden,
                     "unable to upgrade: unable to negotiate protocol: client supports " +
                         Join(offered) + ", server supports " + Join(supported),
                     headers);
    }
    http::response<http::empty_body> res{http::status::switching_protocols, req.version()};
    res.set(http::field::connection, "Upgrade");
    res.set(http::field::upgrade, "SPDY/3.1");
    if (!chosen.empty()) res.set("X-Stream-Protocol-Version", chosen);
    beast::error_code ec;
    http::write(stream, res, ec);
    if (ec) return;
    std::string preread = beast::buffers_to_string(buf.data());
    auto plain = take_plain();
    if (!plain.ok()) {
      log.Warn("cannot start the session", {{"error", plain.status().message()}});
      return;
    }
    spdy::SessionOptions so;
    so.server = true;
    so.idle_timeout = options.idle_timeout;
    so.on_end = [&cancel] { cancel.Fire(); };
    std::unique_ptr<spdy::Session> session =
        spdy::Session::Start(std::move(*plain), std::move(preread), std::move(so));
    log.Debug("SPDY session started", {{"protocol", chosen}});
    if (port_forward) {
      ServeSpdyPortForward(*session, cancel, backend,
                           std::get<runtime::v1::PortForwardRequest>(*cached), options, log);
    } else {
      ServeSpdyRemoteCommand(*session, cancel, backend, *cached, chosen, options, log);
    }
    session->Close();
    return;
  }

  std::optional<WsProtocol> proto =
      NegotiateWsProtocol(HeaderList(req, "Sec-WebSocket-Protocol"), port_forward);
  if (!proto) {
    return Respond(stream, fd, req, http::status::forbidden,
                   "unable to upgrade: requested protocol(s) are not supported: " +
                       Join(HeaderList(req, "Sec-WebSocket-Protocol")) + "; supports " +
                       SupportedWsProtocols(port_forward));
  }
  if (buf.size() != 0) {
    return Respond(stream, fd, req, http::status::bad_request,
                   "unexpected data after the WebSocket upgrade request");
  }
  std::vector<uint16_t> ports;
  if (port_forward) {
    auto p = WsPorts(std::get<runtime::v1::PortForwardRequest>(*cached), query);
    if (!p.ok()) return Respond(stream, fd, req, http::status::bad_request, p.status().message());
    ports = std::move(*p);
  }
  auto plain = take_plain();
  if (!plain.ok()) {
    log.Warn("cannot start the session", {{"error", plain.status().message()}});
    return;
  }
  int channels = port_forward ? static_cast<int>(2 * ports.size()) : 5;
  uint64_t readable =
      port_forward ? PortForwardReadable(ports.size()) : RemoteCommandReadable(*cached);
  auto conn = WsConnection::Accept(std::move(*plain), req, *proto, channels, readable,
                                   options.idle_timeout, cancel, log);
  if (!conn.ok()) {
    log.Warn("WebSocket handshake failed", {{"error", conn.status().message()}});
    return;
  }
  if (port_forward) {
    ServeWsPortForward(**conn, cancel, backend,
                       std::get<runtime::v1::PortForwardRequest>(*cached).pod_sandbox_id(), ports);
  } else {
    ServeWsRemoteCommand(**conn, cancel, backend, *cached, *proto);
  }
  (*conn)->Finish();
}

Result<std::unique_ptr<StreamingServer>> StreamingServer::Start(StreamingOptions options,
                                                                StreamBackend& backend,
                                                                Logger logger) {
  auto impl = std::make_unique<Impl>(std::move(options), backend, std::move(logger));
  const StreamingOptions& o = impl->options;
  if (o.tls_cert_file.empty() != o.tls_key_file.empty()) {
    return InvalidArgument("streaming TLS needs both a certificate and a key file");
  }
  if (!o.tls_cert_file.empty()) {
    impl->tls.emplace(ssl::context::tls_server);
    beast::error_code ec;
    impl->tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                           ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                           ssl::context::no_tlsv1_1);
    impl->tls->use_certificate_chain_file(o.tls_cert_file, ec);
    if (ec) {
      return InvalidArgument("streaming TLS certificate " + o.tls_cert_file + ": " + ec.message());
    }
    impl->tls->use_private_key_file(o.tls_key_file, ssl::context::pem, ec);
    if (ec) return InvalidArgument("streaming TLS key " + o.tls_key_file + ": " + ec.message());
  }
  beast::error_code ec;
  auto address = net::ip::make_address(o.address, ec);
  if (ec) return InvalidArgument("streaming address \"" + o.address + "\" is not an IP address");
  tcp::endpoint ep(address, o.port);
  std::string where =
      (address.is_v6() ? "[" + o.address + "]" : o.address) + ":" + std::to_string(o.port);
  impl->acceptor.open(ep.protocol(), ec);
  if (!ec) impl->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(ep, ec);
  if (!ec) impl->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return Unavailable("streaming server cannot listen on " + where + ": " + ec.message());
  ::fcntl(impl->acceptor.native_handle(), F_SETFD, FD_CLOEXEC);
  uint16_t port = impl->acceptor.local_endpoint().port();
  std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  impl->base_url = (impl->tls ? "https://" : "http://") + host + ":" + std::to_string(port);
  Impl* p = impl.get();
  p->accept_thread = std::thread([p] { p->AcceptLoop(); });
  p->watchdog_thread = std::thread([p] { p->Watchdog(); });
  p->logger.Info("streaming server listening", {{"url", p->base_url}});
  return std::unique_ptr<StreamingServer>(new StreamingServer(std::move(impl)));
}

StreamingServer::StreamingServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

StreamingServer::~StreamingServer() { Stop(); }

std::string StreamingServer::BaseUrl() const { return impl_->base_url; }

Result<std::string> StreamingServer::GetExec(const runtime::v1::ExecRequest& req) {
  return impl_->Issue(req, "exec");
}

Result<std::string> StreamingServer::GetAttach(const runtime::v1::AttachRequest& req) {
  return impl_->Issue(req, "attach");
}

Result<std::string> StreamingServer::GetPortForward(const runtime::v1::PortForwardRequest& req) {
  return impl_->Issue(req, "portforward");
}

void StreamingServer::Stop() {
  Impl& s = *impl_;
  {
    std::lock_guard lock(s.mu);
    if (s.stopping) return;
    s.stopping = true;
    s.watchdog_cv.notify_all();
  }
  if (s.watchdog_thread.joinable()) s.watchdog_thread.join();
  // Wakes the blocked accept4 (Linux answers EINVAL on a shut-down listener).
  ::shutdown(s.acceptor.native_handle(), SHUT_RDWR);
  if (s.accept_thread.joinable()) s.accept_thread.join();
  std::list<std::unique_ptr<Impl::Conn>> conns;
  {
    std::lock_guard lock(s.mu);
    // Every session reads its client socket: ending those reads ends the sessions, which
    // cancels what the backend runs for them.
    for (auto& c : s.conns) {
      if (c->abort_fd) ::shutdown(c->abort_fd.get(), SHUT_RDWR);
    }
    conns.swap(s.conns);
  }
  for (auto& c : conns) c->thread.join();
  beast::error_code ec;
  s.acceptor.close(ec);
  s.logger.Info("streaming server stopped");
}

}  // namespace berth::streaming
