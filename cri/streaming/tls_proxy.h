#pragma once
// TlsProxy: after the HTTP request of a TLS connection has been read, the SPDY session and
// the WebSocket connection work on a plain socket (they take an fd). The proxy hands them one
// end of a socketpair and shuttles bytes between the other end and the TLS stream on its own
// thread (async operations on one io_context: one read and one write on the TLS stream at a
// time, as asio's ssl::stream allows).
//
// Either side's end is passed on as a half-close; the thread ends when both directions have
// ended (the client closed, or the session closed its end). Threads: the io_context the TLS
// stream lives on is run by the proxy thread only from Start on; the destructor joins it.

#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>

#include "common/status.h"
#include "common/unique_fd.h"

namespace berth::streaming {

class TlsProxy {
 public:
  using TlsStream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;

  // `tls` (handshake done) and `ioc` (the one it runs on) are borrowed and must outlive the
  // proxy. On success `*plain` is the session's end of the socketpair.
  static Result<std::unique_ptr<TlsProxy>> Start(boost::asio::io_context& ioc, TlsStream& tls,
                                                 UniqueFd* plain);
  ~TlsProxy();  // waits for both directions to end

 private:
  struct Impl;
  explicit TlsProxy(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::streaming
