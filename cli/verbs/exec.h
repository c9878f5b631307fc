#pragma once
// berthctl exec: crictl's exec with -s/--sync (CRI ExecSync). berthctl exits with the
// command's exit code. Streaming exec (the CRI Exec URL) is not supported yet: without -s the
// verb fails with a message saying so.

#include "cli/command.h"

namespace berth::cli {

void AddExecCommands(CLI::App& root, CommandList& commands);

}  // namespace berth::cli
