#include "cli/streaming/spdy_dial.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <sstream>

#include <boost/beast/http.hpp>

namespace berth::cli::streaming {

namespace http = boost::beast::http;
using Clock = std::chrono::steady_clock;

namespace {

Status SendAll(int fd, std::string_view data, Clock::time_point deadline) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return Status(StatusCode::kDeadlineExceeded, "sending timed out");
      struct pollfd p = {fd, POLLOUT, 0};
      ::poll(&p, 1, static_cast<int>(left.count()));
      continue;
    }
    return Unavailable(std::string("sending the upgrade request: ") + strerror(errno));
  }
  return OkStatus();
}

}  // namespace

Result<SpdyConnection> DialSpdy(const StreamUrl& url, const std::vector<std::string>& protocols,
                                const DialOptions& options, std::function<void()> on_end) {
  auto dialed = Dial(url, options);
  if (!dialed.ok()) return dialed.status();
  const int fd = dialed->fd.get();
  Clock::time_point deadline = Clock::now() + options.timeout;

  http::request<http::empty_body> req{http::verb::post, url.target, 11};
  req.set(http::field::host, url.HostPort());
  req.set(http::field::user_agent, "berthctl");
  req.set(http::field::connection, "Upgrade");
  req.set(http::field::upgrade, "SPDY/3.1");
  for (const auto& p : protocols) req.insert("X-Stream-Protocol-Version", p);
  req.set(http::field::content_length, "0");
  std::ostringstream wire;
  wire << req;
  BERTH_RETURN_IF_ERROR(SendAll(fd, wire.str(), deadline));

  // Read until the parser has the whole response (a 101 has no body; a refusal may have one).
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024UL);
  std::string buf;
  std::string what = "upgrading " + url.ToString() + " to SPDY/3.1";
  char chunk[16 * 1024];
  bool eof = false;
  for (;;) {
    if (!buf.empty()) {
      boost::system::error_code ec;
      size_t used = parser.put(boost::asio::buffer(buf), ec);
      buf.erase(0, used);
      if (ec && ec != http::error::need_more) return Unavailable(what + ": " + ec.message());
      if (parser.is_header_done() && parser.get().result() == http::status::switching_protocols) {
        break;  // the rest of buf is SPDY
      }
      if (parser.is_done()) break;
      if (!ec && used > 0) continue;
    }
    if (eof) {
      boost::system::error_code ec;
      parser.put_eof(ec);
      if (parser.is_header_done()) break;
      return Unavailable(what + ": the server closed the connection");
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      return Status(StatusCode::kDeadlineExceeded, what + ": no response in time");
    }
    struct pollfd p = {fd, POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) continue;
    ssize_t r = ::recv(fd, chunk, sizeof chunk, 0);
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (r < 0) return Unavailable(what + ": " + strerror(errno));
    if (r == 0) {
      eof = true;
      continue;
    }
    buf.append(chunk, static_cast<size_t>(r));
  }
  const auto& res = parser.get();
  if (res.result() != http::status::switching_protocols) {
    std::string body = res.body();
    while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
    return Unavailable(what + ": " + std::to_string(res.result_int()) + " " +
                       std::string(res.reason()) + (body.empty() ? "" : ": " + body));
  }
  std::string protocol(res["X-Stream-Protocol-Version"]);
  bool offered = false;
  for (const auto& p : protocols) offered = offered || p == protocol;
  if (!offered) {
    return Unavailable(what + ": the server chose subprotocol \"" + protocol +
                       "\", which was not offered");
  }

  berth::streaming::spdy::SessionOptions so;
  so.server = false;
  so.on_end = std::move(on_end);
  SpdyConnection conn;
  conn.session =
      berth::streaming::spdy::Session::Start(std::move(dialed->fd), std::move(buf), std::move(so));
  if (!conn.session) return Internal(what + ": could not start the SPDY session");
  conn.protocol = std::move(protocol);
  conn.bridge = std::move(dialed->bridge);
  return conn;
}

}  // namespace berth::cli::streaming
