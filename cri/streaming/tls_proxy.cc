#include "cri/streaming/tls_proxy.h"

#include <sys/socket.h>

#include <array>
#include <thread>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/write.hpp>

namespace berth::streaming {

namespace net = boost::asio;

struct TlsProxy::Impl {
  Impl(net::io_context& c, TlsStream& t) : ioc(c), tls(t), pair(c) {}

  net::io_context& ioc;
  TlsStream& tls;
  net::local::stream_protocol::socket pair;
  std::array<char, size_t{64} * 1024> up_buf;    // client → session
  std::array<char, size_t{64} * 1024> down_buf;  // session → client
  bool up_done = false, down_done = false;
  std::thread thread;

  void ReadUp() {
    tls.async_read_some(net::buffer(up_buf), [this](boost::system::error_code ec, size_t n) {
      if (ec) return EndUp();
      net::async_write(pair, net::buffer(up_buf.data(), n),
                       [this](boost::system::error_code ec, size_t) {
                         if (ec) return EndUp();
                         ReadUp();
                       });
    });
  }
  void ReadDown() {
    pair.async_read_some(net::buffer(down_buf), [this](boost::system::error_code ec, size_t n) {
      if (ec) return EndDown();
      net::async_write(tls, net::buffer(down_buf.data(), n),
                       [this](boost::system::error_code ec, size_t) {
                         if (ec) return EndDown();
                         ReadDown();
                       });
    });
  }
  void EndUp() {
    boost::system::error_code ignored;
    up_done = true;
    pair.shutdown(net::socket_base::shutdown_send, ignored);  // the session sees EOF
    if (down_done) CloseAll();
  }
  void EndDown() {
    boost::system::error_code ignored;
    down_done = true;
    // The session is over: the client sees EOF (Go's crypto/tls treats a clean TCP end at a
    // record boundary as EOF). A client that never closes is cut off by the read error below.
    tls.next_layer().shutdown(net::socket_base::shutdown_send, ignored);
    if (up_done) {
      CloseAll();
    } else {
      // Nothing more can reach the session; stop waiting for the client.
      tls.next_layer().shutdown(net::socket_base::shutdown_receive, ignored);
    }
  }
  void CloseAll() {
    boost::system::error_code ignored;
    pair.close(ignored);
    tls.next_layer().close(ignored);
  }
};

Result<std::unique_ptr<TlsProxy>> TlsProxy::Start(net::io_context& ioc, TlsStream& tls,
                                                  UniqueFd* plain) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return ErrnoStatus(errno, "socketpair");
  }
  plain->reset(fds[1]);
  auto impl = std::make_unique<Impl>(ioc, tls);
  boost::system::error_code ec;
  impl->pair.assign(net::local::stream_protocol(), fds[0], ec);
  if (ec) {
    ::close(fds[0]);
    plain->reset();
    return Internal("socketpair: " + ec.message());
  }
  Impl* p = impl.get();
  p->ReadUp();
  p->ReadDown();
  ioc.restart();
  p->thread = std::thread([p] { p->ioc.run(); });
  return std::unique_ptr<TlsProxy>(new TlsProxy(std::move(impl)));
}

TlsProxy::TlsProxy(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

TlsProxy::~TlsProxy() {
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace berth::streaming
