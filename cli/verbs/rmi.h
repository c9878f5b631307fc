#pragma once
// berthctl rmi: remove images by id, tag or digest; -a/--all, -q/--prune, as crictl rmi.

#include "cli/command.h"

namespace berth::cli {

void AddRmiCommands(CLI::App& root, CommandList& commands);

}  // namespace berth::cli
