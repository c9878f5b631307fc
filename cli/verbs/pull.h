#pragma once
// berthctl pull: crictl's pull (CRI PullImage) with berthd's per-layer progress.

#include <map>
#include <string>
#include <vector>

#include "cli/command.h"

namespace berth::cli {

void AddPullCommands(CLI::App& root, CommandList& commands);

// crictl's parseLabelStringSlice for --annotation: each "key=value" (exactly one '=');
// INVALID_ARGUMENT "incorrectly specified label: <s>" otherwise.
Result<std::map<std::string, std::string>> ParseKeyValues(const std::vector<std::string>& items);

}  // namespace berth::cli
