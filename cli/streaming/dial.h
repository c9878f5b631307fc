#pragma once
// Where a streaming URL (the CRI Exec/Attach/PortForward response) points, and a connected
// byte stream to it.
//
// Dial returns one socket fd for both protocols: for http:// the TCP socket itself; for
// https:// one end of a socketpair whose other end a TLS bridge (one asio thread) relays over
// TLS to the server. The SPDY session and the WebSocket client then speak plain bytes on the fd
// either way. The bridge lives as long as the returned Dialed (keep it until the fd is closed).
// Like crictl without --tls-* flags, the server certificate is not verified unless a CA file is
// given.
//
// Errors: INVALID_ARGUMENT for a malformed URL; UNAVAILABLE when the host cannot be reached
// (the message names the address); DEADLINE_EXCEEDED when connecting takes longer than timeout.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "common/unique_fd.h"

namespace berth::cli::streaming {

struct StreamUrl {
  bool tls = false;
  std::string host;  // without brackets for IPv6
  uint16_t port = 0;
  std::string target;            // path and query, e.g. "/exec/abc?x=1"
  std::string HostPort() const;  // "host:port", "[v6]:port"
  std::string ToString() const;
};

// Accepts http:// and https:// URLs (ws:// and wss:// too); "" path becomes "/".
Result<StreamUrl> ParseStreamUrl(std::string_view url);

struct DialOptions {
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};
  std::string tls_ca_file;  // PEM; when set the server certificate is verified against it
};

class TlsBridge;

struct Dialed {
  UniqueFd fd;                        // blocking, O_CLOEXEC
  int family = 0;                     // AF_INET/AF_INET6, or AF_UNIX behind a TLS bridge
  std::shared_ptr<TlsBridge> bridge;  // null for plain TCP
};

Result<Dialed> Dial(const StreamUrl& url, const DialOptions& options);

}  // namespace berth::cli::streaming
