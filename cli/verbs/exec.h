#pragma once
// berthctl exec: crictl's exec. By default it streams (CRI Exec for a URL, then SPDY/3.1 or,
// with --transport websocket, WebSocket; -i stdin, -t a tty in raw mode with resize); with
// -s/--sync it runs the command with ExecSync (--timeout applies there). berthctl exits with
// the command's exit code either way.

#include "cli/command.h"

namespace berth::cli {

void AddExecCommands(CLI::App& root, CommandList& commands);

}  // namespace berth::cli
