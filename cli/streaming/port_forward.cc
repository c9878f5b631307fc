#include "cli/streaming/port_forward.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <list>
#include <mutex>
#include <thread>

#include "cli/streaming/spdy_dial.h"
#include "cli/streaming/ws_channels.h"

namespace berth::cli::streaming {
namespace {

using Clock = std::chrono::steady_clock;

Result<uint16_t> ParsePort(const std::string& s, bool allow_zero, const std::string& spec) {
  if (s.empty() || s.size() > 5 || s.find_first_not_of("0123456789") != std::string::npos) {
    return InvalidArgument("invalid port \"" + s + "\" in \"" + spec + "\"");
  }
  int v = std::stoi(s);
  if (v > 65535 || (v == 0 && !allow_zero)) {
    return InvalidArgument("port " + s + " out of range in \"" + spec + "\"");
  }
  return static_cast<uint16_t>(v);
}

bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

size_t RecvSome(int fd, char* buf, size_t len) {
  for (;;) {
    ssize_t n = ::recv(fd, buf, len, 0);
    if (n < 0 && errno == EINTR) continue;
    return n > 0 ? static_cast<size_t>(n) : 0;
  }
}

}  // namespace

Result<PortSpec> ParsePortSpec(const std::string& spec) {
  PortSpec p;
  size_t colon = spec.find(':');
  if (colon == std::string::npos) {
    auto r = ParsePort(spec, false, spec);
    if (!r.ok()) return r.status();
    p.local = p.remote = *r;
    return p;
  }
  std::string local = spec.substr(0, colon);
  if (!local.empty()) {
    auto l = ParsePort(local, true, spec);
    if (!l.ok()) return l.status();
    p.local = *l;
  }
  auto r = ParsePort(spec.substr(colon + 1), false, spec);
  if (!r.ok()) return r.status();
  p.remote = *r;
  return p;
}

struct PortForwarder::Impl {
  PortForwardOptions options;
  LocalOutput* out = nullptr;
  LocalOutput* err = nullptr;
  std::vector<PortSpec> ports;
  std::vector<UniqueFd> listeners;  // parallel to ports
  UniqueFd stop, lost;              // eventfds, never read: level-triggered flags
  UrlSource next_url;
  SpdyConnection spdy;  // SPDY only
  std::atomic<int> next_request_id{0};
  std::thread acceptor;
  std::once_flag stopped;

  struct Conn {
    std::thread thread;
    int fd = -1;  // the local socket (closed by its thread after it is done)
    std::function<void()> abort;
    bool done = false;
  };
  std::mutex mu;
  std::list<Conn> conns;

  void Print(LocalOutput* to, const std::string& line) {
    if (to != nullptr) to->Write(line);
  }

  void ReportError(const PortSpec& p, std::string msg) {
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    Print(err, "error: an error occurred forwarding " + std::to_string(p.local) + " -> " +
                   std::to_string(p.remote) + ": " + msg + "\n");
  }

  void AcceptLoop() {
    for (;;) {
      std::vector<struct pollfd> fds;
      fds.push_back({stop.get(), POLLIN, 0});
      fds.push_back({lost.get(), POLLIN, 0});
      for (const auto& l : listeners) fds.push_back({l.get(), POLLIN, 0});
      int n = ::poll(fds.data(), fds.size(), -1);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 || fds[0].revents != 0 || fds[1].revents != 0) return;
      for (size_t i = 2; i < fds.size(); ++i) {
        if (fds[i].revents == 0) continue;
        int c = ::accept4(listeners[i - 2].get(), nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) continue;
        Launch(c, ports[i - 2]);
      }
    }
  }

  void Launch(int fd, PortSpec spec) {
    std::lock_guard<std::mutex> lock(mu);
    // Reap finished connections.
    for (auto it = conns.begin(); it != conns.end();) {
      if (it->done) {
        it->thread.join();
        it = conns.erase(it);
      } else {
        ++it;
      }
    }
    conns.emplace_back();
    Conn* c = &conns.back();
    c->fd = fd;
    c->thread = std::thread([this, c, fd, spec] {
      Print(out, "Handling connection for " + std::to_string(spec.local) + "\n");
      if (options.transport == Transport::kSpdy) {
        HandleSpdy(c, fd, spec);
      } else {
        HandleWebSocket(c, fd, spec);
      }
      std::lock_guard<std::mutex> l(mu);
      ::close(fd);
      c->fd = -1;
      c->abort = nullptr;
      c->done = true;
    });
  }

  void SetAbort(Conn* c, std::function<void()> fn) {
    std::lock_guard<std::mutex> lock(mu);
    c->abort = std::move(fn);
  }

  void HandleSpdy(Conn* c, int fd, const PortSpec& spec) {
    using berth::streaming::spdy::Headers;
    auto& session = *spdy.session;
    Headers h = {{"streamtype", "error"},
                 {"port", std::to_string(spec.remote)},
                 {"requestid", std::to_string(next_request_id++)}};
    auto es = session.Open(h);
    if (!es.ok()) return ReportError(spec, es.status().message());
    (*es)->Close();  // we never write on the error stream
    h["streamtype"] = "data";
    auto ds = session.Open(h);
    if (!ds.ok()) return ReportError(spec, ds.status().message());
    auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(options.dial.timeout);
    if (!(*es)->WaitReply(timeout) || !(*ds)->WaitReply(timeout)) {
      (*es)->Reset();
      (*ds)->Reset();
      return ReportError(spec, "the server did not accept the streams");
    }
    auto error_stream = *es;
    auto data = *ds;
    std::string message;
    std::thread error_reader([&] {
      char buf[4096];
      for (size_t n; (n = error_stream->Read(buf, sizeof buf)) > 0;) message.append(buf, n);
    });
    std::thread up([&] {
      char buf[32 * 1024];
      for (size_t n; (n = RecvSome(fd, buf, sizeof buf)) > 0;) {
        if (!data->Write(std::string_view(buf, n))) return;
      }
      data->Close();  // half-close: the request is complete, the response may still come
    });
    SetAbort(c, [fd] { ::shutdown(fd, SHUT_RDWR); });
    char buf[32 * 1024];
    for (size_t n; (n = data->Read(buf, sizeof buf)) > 0;) {
      if (!SendAll(fd, std::string_view(buf, n))) break;
    }
    // Like client-go: once the remote side is done, drop what is unsent and stop the local
    // reader; then the error stream ends too.
    data->Reset();
    ::shutdown(fd, SHUT_RDWR);
    up.join();
    error_reader.join();
    if (!message.empty()) ReportError(spec, message);
  }

  void HandleWebSocket(Conn* c, int fd, const PortSpec& spec) {
    // A fresh URL naming just this port: a WebSocket port-forward connection carries every
    // port of its request, and the token of the first URL may have expired by now.
    Result<std::string> url = next_url(spec.remote);
    if (!url.ok() || url->empty()) {
      return ReportError(spec, url.ok() ? "no URL" : url.status().message());
    }
    std::string u = *url + (url->find('?') == std::string::npos ? "?" : "&") +
                    "port=" + std::to_string(spec.remote);
    auto parsed = ParseStreamUrl(u);
    if (!parsed.ok()) return ReportError(spec, parsed.status().message());
    auto ws =
        WsChannels::Connect(*parsed, {"v4.channel.k8s.io", "portforward.k8s.io"}, options.dial);
    if (!ws.ok()) return ReportError(spec, ws.status().message());
    std::shared_ptr<WsChannels> conn(std::move(*ws));
    SetAbort(c, [fd, conn] {
      ::shutdown(fd, SHUT_RDWR);
      conn->Close();
    });
    // Each channel starts with the port, two bytes little-endian.
    auto skip_port = [&conn](uint8_t ch) {
      char p[2];
      size_t got = 0;
      while (got < 2) {
        size_t n = conn->Read(ch, p + got, 2 - got);
        if (n == 0) return false;
        got += n;
      }
      return true;
    };
    std::string message;
    std::thread error_reader([&] {
      if (!skip_port(1)) return;
      char buf[4096];
      for (size_t n; (n = conn->Read(1, buf, sizeof buf)) > 0;) message.append(buf, n);
    });
    std::thread up([&] {
      char buf[32 * 1024];
      for (size_t n; (n = RecvSome(fd, buf, sizeof buf)) > 0;) {
        if (!conn->Write(0, std::string_view(buf, n))) return;
      }
      // kubelet's WebSocket port-forward has no half-close: the server ends the connection
      // when the pod side is done.
    });
    if (skip_port(0)) {
      char buf[32 * 1024];
      for (size_t n; (n = conn->Read(0, buf, sizeof buf)) > 0;) {
        if (!SendAll(fd, std::string_view(buf, n))) break;
      }
    }
    ::shutdown(fd, SHUT_RDWR);
    up.join();
    conn->Close();
    error_reader.join();
    SetAbort(c, nullptr);
    if (!message.empty()) ReportError(spec, message);
  }

  void StopAll() {
    std::call_once(stopped, [this] {
      uint64_t one = 1;
      (void)!::write(stop.get(), &one, sizeof one);
      if (acceptor.joinable()) acceptor.join();
      listeners.clear();
      {
        std::lock_guard<std::mutex> lock(mu);
        for (auto& c : conns) {
          if (c.abort) c.abort();
        }
      }
      if (spdy.session) spdy.session->Close();
      std::list<Conn> all;
      {
        std::lock_guard<std::mutex> lock(mu);
        all.splice(all.end(), conns);
      }
      for (auto& c : all) c.thread.join();
      spdy.session.reset();
    });
  }
};

PortForwarder::PortForwarder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PortForwarder::~PortForwarder() { Stop(); }

const std::vector<PortSpec>& PortForwarder::ports() const { return impl_->ports; }
int PortForwarder::stop_fd() const { return impl_->stop.get(); }
void PortForwarder::Stop() { impl_->StopAll(); }

Status PortForwarder::Wait() {
  struct pollfd fds[2] = {{impl_->stop.get(), POLLIN, 0}, {impl_->lost.get(), POLLIN, 0}};
  for (;;) {
    int n = ::poll(fds, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    break;
  }
  bool lost = fds[1].revents != 0 && fds[0].revents == 0;
  Stop();
  if (lost) return Unavailable("lost connection to pod");
  return OkStatus();
}

Result<std::unique_ptr<PortForwarder>> PortForwarder::Start(const std::string& first_url,
                                                            UrlSource next_url,
                                                            std::vector<PortSpec> ports,
                                                            const PortForwardOptions& options,
                                                            LocalOutput* out, LocalOutput* err) {
  if (ports.empty()) return InvalidArgument("no ports to forward");
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->out = out;
  impl->err = err;
  impl->next_url = std::move(next_url);
  impl->stop.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  impl->lost.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!impl->stop || !impl->lost) return ErrnoStatus(errno, "creating an eventfd");

  // Listen first: a port that cannot be bound fails the whole command before any connection.
  struct in6_addr a6 {};
  struct in_addr a4 {};
  bool v6 = false;
  if (::inet_pton(AF_INET, options.address.c_str(), &a4) != 1) {
    if (::inet_pton(AF_INET6, options.address.c_str(), &a6) != 1) {
      return InvalidArgument("--address " + options.address + " is not an IP address");
    }
    v6 = true;
  }
  for (PortSpec& p : ports) {
    UniqueFd l(::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!l) return ErrnoStatus(errno, "creating a listening socket");
    int one = 1;
    ::setsockopt(l.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_storage ss {};
    socklen_t len;
    if (v6) {
      auto* s6 = reinterpret_cast<struct sockaddr_in6*>(&ss);
      s6->sin6_family = AF_INET6;
      s6->sin6_addr = a6;
      s6->sin6_port = htons(p.local);
      len = sizeof *s6;
    } else {
      auto* s4 = reinterpret_cast<struct sockaddr_in*>(&ss);
      s4->sin_family = AF_INET;
      s4->sin_addr = a4;
      s4->sin_port = htons(p.local);
      len = sizeof *s4;
    }
    std::string where =
        (v6 ? "[" + options.address + "]" : options.address) + ":" + std::to_string(p.local);
    if (::bind(l.get(), reinterpret_cast<struct sockaddr*>(&ss), len) != 0) {
      return Unavailable("unable to listen on " + where + ": " + strerror(errno));
    }
    if (::listen(l.get(), 128) != 0) {
      return Unavailable("unable to listen on " + where + ": " + strerror(errno));
    }
    len = sizeof ss;
    ::getsockname(l.get(), reinterpret_cast<struct sockaddr*>(&ss), &len);
    p.local = ntohs(v6 ? reinterpret_cast<struct sockaddr_in6*>(&ss)->sin6_port
                       : reinterpret_cast<struct sockaddr_in*>(&ss)->sin_port);
    impl->listeners.push_back(std::move(l));
  }
  impl->ports = std::move(ports);

  if (options.transport == Transport::kSpdy) {
    auto parsed = ParseStreamUrl(first_url);
    if (!parsed.ok()) return parsed.status();
    int lost_fd = impl->lost.get();
    auto conn = DialSpdy(*parsed, {"portforward.k8s.io"}, options.dial, [lost_fd] {
      uint64_t one = 1;
      (void)!::write(lost_fd, &one, sizeof one);
    });
    if (!conn.ok()) return conn.status();
    impl->spdy = std::move(*conn);
  }
  for (const PortSpec& p : impl->ports) {
    std::string host = options.address.find(':') != std::string::npos ? "[" + options.address + "]"
                                                                      : options.address;
    impl->Print(out, "Forwarding from " + host + ":" + std::to_string(p.local) + " -> " +
                         std::to_string(p.remote) + "\n");
  }
  Impl* raw = impl.get();
  raw->acceptor = std::thread([raw] { raw->AcceptLoop(); });
  return std::unique_ptr<PortForwarder>(new PortForwarder(std::move(impl)));
}

}  // namespace berth::cli::streaming
