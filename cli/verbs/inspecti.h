#pragma once
// berthctl inspecti: CRI ImageStatus of one or more images, printed like crictl inspecti.

#include "api/cri.h"
#include "cli/command.h"

namespace berth::cli {

void AddInspectiCommands(CLI::App& root, CommandList& commands);

// -o table: "ID: …", "Tag: …", "Digest: …", "Size: <human>", and "Info: map[…]" when verbose.
std::string FormatImageStatusTable(const ::runtime::v1::ImageStatusResponse& response,
                                   bool verbose);

}  // namespace berth::cli
