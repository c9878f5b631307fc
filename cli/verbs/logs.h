#pragma once
// berthctl logs: crictl's logs, reading the CRI log file at ContainerStatus.log_path directly
// (berthctl must run on the node, as crictl must): -f, -p, -r, --tail, --limit-bytes, --since,
// -t, --stream.

#include <string>

#include "cli/command.h"

namespace berth::cli {

void AddLogsCommands(CLI::App& root, CommandList& commands);

// The log path of the previous attempt, as crictl derives it: <dir>/<attempt-1><ext>
// ("/logs/c/2.log" with attempt 2 → "/logs/c/1.log").
std::string PreviousLogPath(const std::string& log_path, uint32_t attempt);

}  // namespace berth::cli
