#pragma once
// Test support for the streaming server tests: an in-test StreamBackend, a TCP echo server
// on loopback, and real clients (raw HTTP, SPDY/3.1 over spdy::Session in the client role,
// optionally through TLS).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>

#include "api/cri.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "cri/streaming/spdy/session.h"
#include "cri/streaming/stream_backend.h"
#include "cri/streaming/tls_proxy.h"

namespace berth::streaming::testing {

// Exec commands (cmd[0]):
//   echo            stdin → stdout until EOF, exit 0
//   exit N          exit N
//   stderr TEXT     TEXT on stderr, exit 0
//   bigout N        N bytes of a counting pattern on stdout, exit 0
//   resize K        reads K sizes, prints "WxH\n" for each, exit 0
//   wait            blocks until cancelled (then 137)
//   fail            the backend fails (INTERNAL)
//   stopstdin       reads stdin (and resize) on threads, then Stop()s them, exit 5
// Attach: stdin → stdout until EOF. DialPod: 127.0.0.1:port (the pod is the host).
class TestBackend final : public StreamBackend {
 public:
  Result<int> Exec(const std::string& container_id, const std::vector<std::string>& cmd,
                   const ExecStreams& io) override;
  Status Attach(const std::string& container_id, const ExecStreams& io) override;
  Result<UniqueFd> DialPod(const std::string& pod_id, uint16_t port) override;

  // Waits until a "wait" exec was cancelled (true) or `timeout` passed.
  bool WaitCancelled(std::chrono::milliseconds timeout);
  std::atomic<int> running{0};
  std::atomic<int> started{0};

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int cancelled_ = 0;
};

// A byte of the "bigout" pattern at offset i.
inline char PatternByte(uint64_t i) { return static_cast<char>('a' + (i * 7 + i / 4099) % 26); }

// TCP echo server on 127.0.0.1 (each connection echoes until EOF).
class EchoServer {
 public:
  EchoServer();
  ~EchoServer();
  uint16_t port() const { return port_; }

 private:
  UniqueFd listen_;
  uint16_t port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::thread> conns_;
  std::vector<int> fds_;
};

// A port on 127.0.0.1 nobody listens on.
uint16_t ClosedPort();

struct Url {
  std::string host;
  uint16_t port = 0;
  std::string path;  // with query
};
Url ParseUrl(const std::string& url);

// A client connection: plain TCP, or TLS (handshake done, verification off for the test's
// self-signed certificate).
class ClientConn {
 public:
  static std::unique_ptr<ClientConn> Connect(const Url& url, bool tls);
  ~ClientConn();
  // Sends raw bytes (through TLS when on).
  void Send(const std::string& bytes);
  // Reads the HTTP response head; leftover bytes stay in `leftover`.
  std::string ReadHead();
  // Reads until EOF (the rest of the response).
  std::string ReadAll();
  // The plaintext connection for a SPDY session (a TLS proxy is started when needed).
  UniqueFd TakePlain();
  std::string leftover;

  boost::asio::io_context ioc;
  std::unique_ptr<boost::asio::ip::tcp::socket> sock;
  std::unique_ptr<boost::asio::ssl::context> ctx;
  std::unique_ptr<TlsProxy::TlsStream> tls;
  std::unique_ptr<TlsProxy> proxy;
};

struct HttpResponse {
  int status = 0;
  std::string head;
  std::string body;
};
// One request (`extra` header lines end with \r\n) and the whole answer.
HttpResponse HttpRequest(const std::string& url, const std::string& method,
                         const std::string& extra, bool tls = false);

// A SPDY client session on `url` after an upgrade offering `protocols`.
struct SpdyClient {
  std::unique_ptr<ClientConn> conn;
  int status = 0;
  std::string head;      // the upgrade response
  std::string protocol;  // X-Stream-Protocol-Version chosen
  std::unique_ptr<spdy::Session> session;
};
SpdyClient SpdyConnect(const std::string& url, const std::vector<std::string>& protocols,
                       bool tls = false);

// Reads `stream` to EOF.
std::string ReadAll(spdy::Stream& stream);

// An ExecRequest for the test backend's container "c1".
runtime::v1::ExecRequest ExecReq(std::vector<std::string> cmd, bool in, bool out, bool err,
                                 bool tty = false);

// A self-signed certificate and key written as PEM files into `dir`.
void WriteSelfSignedCert(const std::string& dir, std::string* cert, std::string* key);

}  // namespace berth::streaming::testing
