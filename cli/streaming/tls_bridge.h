#pragma once
// TlsBridge: relays bytes between a TLS client connection and a plain socketpair, so that code
// written against a plain fd (the SPDY session, the WebSocket client) can run over https.
//
// Threads: Start does the TLS handshake on the caller's thread, then one asio thread pumps both
// directions (one outstanding read and write per direction on the implicit strand). When the
// app end is closed the bridge sends close_notify and ends; when the server ends TLS the app
// end sees EOF. The destructor stops the thread and closes the TLS socket.

#include <chrono>
#include <memory>
#include <string>

#include "common/status.h"
#include "common/unique_fd.h"

namespace berth::cli::streaming {

class TlsBridge {
 public:
  struct Started {
    UniqueFd app_end;  // plain bytes in and out
    std::shared_ptr<TlsBridge> bridge;
  };
  // `ca_file` empty: the certificate is not verified. UNAVAILABLE when the handshake fails.
  static Result<Started> Start(UniqueFd tcp, const std::string& server_name,
                               const std::string& ca_file, std::chrono::milliseconds timeout);
  ~TlsBridge();
  TlsBridge(const TlsBridge&) = delete;
  TlsBridge& operator=(const TlsBridge&) = delete;

  struct Impl;

 private:
  explicit TlsBridge(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::cli::streaming
