#include "cli/streaming/tls_bridge.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <array>
#include <thread>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

namespace berth::cli::streaming {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using boost::system::error_code;

struct TlsBridge::Impl {
  asio::io_context io;
  ssl::context ctx{ssl::context::tls_client};
  ssl::stream<asio::ip::tcp::socket> tls{io, ctx};
  asio::local::stream_protocol::socket plain{io};
  std::array<char, 64 * 1024UL> up{}, down{};  // app → server, server → app
  bool up_done = false, down_done = false;
  std::thread thread;

  // app → TLS
  void ReadPlain() {
    plain.async_read_some(asio::buffer(up), [this](error_code ec, size_t n) {
      if (ec) {
        // The app closed its end. SPDY and WebSocket only do that when they are done with
        // the connection; the server's last bytes still come through ReadTls until it closes.
        // (No async_shutdown here: it would read concurrently with ReadTls.)
        up_done = true;
        Finish();
        return;
      }
      asio::async_write(tls, asio::buffer(up.data(), n), [this](error_code ec2, size_t) {
        if (ec2) {
          up_done = true;
          error_code ignored;
          plain.shutdown(asio::socket_base::shutdown_receive, ignored);
          Finish();
          return;
        }
        ReadPlain();
      });
    });
  }

  // TLS → app
  void ReadTls() {
    tls.async_read_some(asio::buffer(down), [this](error_code ec, size_t n) {
      if (ec) {
        down_done = true;
        error_code ignored;
        plain.shutdown(asio::socket_base::shutdown_send, ignored);  // app sees EOF
        Finish();
        return;
      }
      asio::async_write(plain, asio::buffer(down.data(), n), [this](error_code ec2, size_t) {
        if (ec2) {
          down_done = true;
          Finish();
          return;
        }
        ReadTls();
      });
    });
  }

  void Finish() {
    if (up_done && down_done) {
      error_code ignored;
      tls.lowest_layer().close(ignored);
      plain.close(ignored);
    }
  }
};

TlsBridge::TlsBridge(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

TlsBridge::~TlsBridge() {
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

Result<TlsBridge::Started> TlsBridge::Start(UniqueFd tcp, const std::string& server_name,
                                            const std::string& ca_file,
                                            std::chrono::milliseconds timeout) {
  auto impl = std::make_unique<Impl>();
  error_code ec;
  if (ca_file.empty()) {
    impl->ctx.set_verify_mode(ssl::verify_none);
  } else {
    impl->ctx.load_verify_file(ca_file, ec);
    if (ec) return InvalidArgument("loading CA file " + ca_file + ": " + ec.message());
    impl->ctx.set_verify_mode(ssl::verify_peer);
    impl->tls.set_verify_callback(ssl::host_name_verification(server_name));
  }
  struct sockaddr_storage ss {};
  socklen_t len = sizeof ss;
  ::getsockname(tcp.get(), reinterpret_cast<struct sockaddr*>(&ss), &len);
  auto proto = ss.ss_family == AF_INET6 ? asio::ip::tcp::v6() : asio::ip::tcp::v4();
  int raw = tcp.release();
  impl->tls.next_layer().assign(proto, raw, ec);
  if (ec) {
    ::close(raw);
    return Internal("adopting the socket: " + ec.message());
  }
  // The handshake is synchronous: bound it with socket timeouts.
  struct timeval tv = {static_cast<time_t>(timeout.count() / 1000),
                       static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  ::setsockopt(raw, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(raw, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  SSL_set_tlsext_host_name(impl->tls.native_handle(), server_name.c_str());
  impl->tls.handshake(ssl::stream_base::client, ec);
  if (ec) return Unavailable("TLS handshake: " + ec.message());
  struct timeval zero = {0, 0};
  ::setsockopt(raw, SOL_SOCKET, SO_RCVTIMEO, &zero, sizeof zero);
  ::setsockopt(raw, SOL_SOCKET, SO_SNDTIMEO, &zero, sizeof zero);

  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
    return ErrnoStatus(errno, "creating a socketpair");
  }
  UniqueFd app(pair[0]);
  impl->plain.assign(asio::local::stream_protocol(), pair[1], ec);
  if (ec) {
    ::close(pair[1]);
    return Internal("adopting the socketpair: " + ec.message());
  }
  Impl* p = impl.get();
  p->ReadPlain();
  p->ReadTls();
  p->thread = std::thread([p] { p->io.run(); });
  return Started{std::move(app), std::shared_ptr<TlsBridge>(new TlsBridge(std::move(impl)))};
}

}  // namespace berth::cli::streaming
