#pragma once
// berthctl attach: crictl's attach — CRI Attach for a URL, then SPDY/3.1 (or WebSocket with
// --transport websocket) to the container's own stdio: -i sends stdin, -t a tty in raw mode
// with resize events. berthctl exits with the container's exit code when the server reports
// one.

#include "cli/command.h"

namespace berth::cli {

void AddAttachCommands(CLI::App& root, CommandList& commands);

}  // namespace berth::cli
