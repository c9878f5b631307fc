#pragma once
// berthctl version: the runtime's name and versions, in crictl's exact format.

#include <string>

#include "api/cri.h"
#include "cli/command.h"

namespace berth::cli {

void AddVersionCommands(CLI::App& root, CommandList& commands);

// The four "Key:  value" lines crictl prints (two spaces: Go's Println of two operands).
std::string FormatVersion(const ::runtime::v1::VersionResponse& response);

}  // namespace berth::cli
