#pragma once
// berthctl imagefsinfo: CRI ImageFsInfo, printed like crictl imagefsinfo.

#include "api/cri.h"
#include "cli/command.h"

namespace berth::cli {

void AddImageFsInfoCommands(CLI::App& root, CommandList& commands);

// -o table: a "Container Filesystem " then an "Image Filesystem " block, each with
// TimeStamp[i], Disk[i] (human size), Inodes[i], Mountpoint[i] lines.
std::string FormatImageFsInfoTable(const ::runtime::v1::ImageFsInfoResponse& response);

}  // namespace berth::cli
