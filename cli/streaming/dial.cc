#include "cli/streaming/dial.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "cli/streaming/tls_bridge.h"

namespace berth::cli::streaming {

std::string StreamUrl::HostPort() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

std::string StreamUrl::ToString() const {
  return std::string(tls ? "https://" : "http://") + HostPort() + target;
}

Result<StreamUrl> ParseStreamUrl(std::string_view url) {
  StreamUrl u;
  std::string_view rest;
  auto bad = [&](const std::string& why) {
    return InvalidArgument("malformed streaming URL \"" + std::string(url) + "\": " + why);
  };
  for (auto [prefix, tls] : {std::pair{"http://", false}, std::pair{"https://", true},
                             std::pair{"ws://", false}, std::pair{"wss://", true}}) {
    std::string_view p(prefix);
    if (url.substr(0, p.size()) == p) {
      rest = url.substr(p.size());
      u.tls = tls;
      break;
    }
  }
  if (rest.empty()) return bad("want http:// or https:// and a host");
  size_t slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  u.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (!u.target.empty() && u.target[0] == '?') u.target = "/" + u.target;
  if (authority.find('@') != std::string_view::npos) return bad("user info is not supported");
  std::string_view port;
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unclosed [ in the host");
    u.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return bad("junk after the IPv6 address");
      port = after.substr(1);
    }
  } else {
    size_t colon = authority.rfind(':');
    u.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (u.host.empty()) return bad("no host");
  if (port.empty()) {
    u.port = u.tls ? 443 : 80;
  } else {
    unsigned long v = 0;
    for (char c : port) {
      if (c < '0' || c > '9') return bad("port is not a number");
      v = v * 10 + static_cast<unsigned long>(c - '0');
      if (v > 65535) return bad("port out of range");
    }
    if (v == 0) return bad("port 0");
    u.port = static_cast<uint16_t>(v);
  }
  return u;
}

namespace {

// Connects one address with a deadline; the fd is blocking again on success.
Result<UniqueFd> ConnectOne(const struct addrinfo* ai, std::chrono::milliseconds timeout,
                            const std::string& what) {
  UniqueFd fd(
      ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol));
  if (!fd) return ErrnoStatus(errno, "creating a socket");
  if (::connect(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0) {
    if (errno != EINPROGRESS) return Unavailable("connecting to " + what + ": " + strerror(errno));
    struct pollfd p = {fd.get(), POLLOUT, 0};
    int n;
    do {
      n = ::poll(&p, 1, static_cast<int>(timeout.count()));
    } while (n < 0 && errno == EINTR);
    if (n == 0)
      return Status(StatusCode::kDeadlineExceeded, "connecting to " + what + ": timed out");
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (n < 0) err = errno;
    if (err != 0) return Unavailable("connecting to " + what + ": " + strerror(err));
  }
  int flags = ::fcntl(fd.get(), F_GETFL);
  ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK);
  int one = 1;  // interactive sessions: no Nagle delay on keystrokes
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

}  // namespace

Result<Dialed> Dial(const StreamUrl& url, const DialOptions& options) {
  struct addrinfo hints {};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_family = AF_UNSPEC;
  struct addrinfo* res = nullptr;
  std::string port = std::to_string(url.port);
  int rc = ::getaddrinfo(url.host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) return Unavailable("resolving " + url.host + ": " + gai_strerror(rc));
  Status last = Unavailable("no address for " + url.host);
  Dialed d;
  for (struct addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    auto fd = ConnectOne(ai, options.timeout, url.HostPort());
    if (fd.ok()) {
      d.fd = std::move(*fd);
      d.family = ai->ai_family;
      break;
    }
    last = fd.status();
  }
  ::freeaddrinfo(res);
  if (!d.fd) return last;
  if (!url.tls) return d;
  auto bridge = TlsBridge::Start(std::move(d.fd), url.host, options.tls_ca_file, options.timeout);
  if (!bridge.ok()) return bridge.status().Wrap("TLS to " + url.HostPort());
  d.fd = std::move(bridge->app_end);
  d.family = AF_UNIX;
  d.bridge = std::move(bridge->bridge);
  return d;
}

}  // namespace berth::cli::streaming
