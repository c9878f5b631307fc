#pragma once
// StreamingServer: berthd's HTTP server for exec, attach and port-forward (DESIGN.md §8).
// The CRI Exec/Attach/PortForward RPCs validate their request (RuntimeService, with the
// container/pod managers) and ask this server for a URL; the client (kubelet, crictl,
// berthctl) then connects to that URL and upgrades to SPDY/3.1 or WebSocket:
//
//   /exec/{token}  /attach/{token}  /portforward/{token}
//
// A token is 32 random bytes (base64url), single-use, and expires when unused for
// `token_ttl`. Subprotocols: SPDY "X-Stream-Protocol-Version" v4/v3/v2.channel.k8s.io and
// channel.k8s.io, portforward.k8s.io; WebSocket "Sec-WebSocket-Protocol" v5/v4.channel.k8s.io,
// channel.k8s.io, base64.channel.k8s.io (and for port-forward portforward.k8s.io /
// v4.channel.k8s.io). Sessions end after `idle_timeout` without traffic.
//
// Threads: Get* may be called from any thread. The server runs an acceptor thread and one
// thread per connection (a session blocks it for its whole life); Stop() closes the listener
// and every open connection, then joins them. The backend is borrowed and must outlive Stop().
// Errors: Start fails (with the address) when it cannot bind; Get* fail with UNAVAILABLE
// when the server is not running.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "api/cri.h"
#include "common/log.h"
#include "common/status.h"
#include "cri/streaming/stream_backend.h"

namespace berth::streaming {

struct StreamingOptions {
  std::string address = "127.0.0.1";  // IPv4 or IPv6 literal to listen on
  uint16_t port = 0;                  // 0: chosen by the kernel
  std::string tls_cert_file;          // both set: HTTPS (PEM certificate chain and key)
  std::string tls_key_file;
  std::chrono::milliseconds token_ttl{std::chrono::minutes(1)};
  std::chrono::milliseconds idle_timeout{std::chrono::hours(4)};
  // How long a SPDY client may take to open the streams it announced after the upgrade.
  std::chrono::milliseconds stream_creation_timeout{std::chrono::seconds(30)};
};

class StreamingServer {
 public:
  static Result<std::unique_ptr<StreamingServer>> Start(StreamingOptions options,
                                                        StreamBackend& backend, Logger logger);
  ~StreamingServer();  // Stop()

  // The base URL, e.g. "http://127.0.0.1:40123".
  std::string BaseUrl() const;

  // Each stores the (already validated) request under a new token and returns its URL.
  Result<std::string> GetExec(const runtime::v1::ExecRequest& req);
  Result<std::string> GetAttach(const runtime::v1::AttachRequest& req);
  Result<std::string> GetPortForward(const runtime::v1::PortForwardRequest& req);

  void Stop();

 private:
  struct Impl;
  explicit StreamingServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::streaming
