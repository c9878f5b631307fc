#pragma once
// berthctl port-forward: crictl's port-forward (with kubectl's --address) — CRI PortForward
// for a URL, then local listeners whose connections are carried into the pod over SPDY/3.1
// (one session) or WebSocket (--transport websocket: one PortForward URL per connection).
// Runs until Ctrl-C (SIGINT) or SIGTERM; exits non-zero when the connection to the pod is lost.

#include "cli/command.h"

namespace berth::cli {

void AddPortForwardCommands(CLI::App& root, CommandList& commands);

}  // namespace berth::cli
