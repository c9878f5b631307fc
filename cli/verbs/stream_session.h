#pragma once
// What exec and attach share once they have a streaming URL: the context's stdio as the
// session's local ends, the terminal in raw mode with resize events for -t on a terminal, and
// SIGPIPE ignored for the session (a closed stdout or socket is an error, not a silent death).

#include <string>

#include "cli/command.h"
#include "cli/streaming/remote_command.h"

namespace berth::cli {

struct StreamRequest {
  bool stdin = false;
  bool tty = false;
  streaming::Transport transport = streaming::Transport::kSpdy;
};

// crictl's rules before any RPC: -t needs -i, and -t needs stdin to be a terminal.
Status CheckTtyFlags(const Context& ctx, const StreamRequest& request);

// Streams `url`; the remote command's exit code.
Result<int> RunStreamSession(Context& ctx, const std::string& url, const StreamRequest& request);

}  // namespace berth::cli
