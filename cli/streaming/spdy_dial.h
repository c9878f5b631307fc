#pragma once
// The SPDY/3.1 upgrade as client-go's SPDY round tripper does it (kubectl, crictl): POST the
// streaming URL with "Connection: Upgrade", "Upgrade: SPDY/3.1" and one
// "X-Stream-Protocol-Version" per offered subprotocol; on "101 Switching Protocols" start a
// berth_spdy Session in the client role on the same socket.
//
// Errors: UNAVAILABLE with the server's status line and body when it refuses the upgrade
// (e.g. an expired token: "404 Not Found: ..."), or when it picks a subprotocol that was not
// offered; DEADLINE_EXCEEDED when the response does not come within the dial timeout.

#include <memory>
#include <string>
#include <vector>

#include "cli/streaming/dial.h"
#include "common/status.h"
#include "cri/streaming/spdy/session.h"

namespace berth::cli::streaming {

struct SpdyConnection {
  std::unique_ptr<berth::streaming::spdy::Session> session;
  std::string protocol;               // the negotiated X-Stream-Protocol-Version
  std::shared_ptr<TlsBridge> bridge;  // keep alive as long as the session (https only)
};

// `on_end` is handed to the session (SessionOptions::on_end).
Result<SpdyConnection> DialSpdy(const StreamUrl& url, const std::vector<std::string>& protocols,
                                const DialOptions& options, std::function<void()> on_end = {});

}  // namespace berth::cli::streaming
