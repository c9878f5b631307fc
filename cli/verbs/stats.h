#pragma once
// berthctl stats / statsp: crictl's container and pod resource usage (ListContainerStats,
// ListPodSandboxStats), CPU % sampled over -s seconds.

#include <string>
#include <vector>

#include "api/cri.h"
#include "cli/command.h"

namespace berth::cli {

void AddStatsCommands(CLI::App& root, CommandList& commands);

// The stats table from two samples `before` and `after` (each sorted by id): CONTAINER, NAME,
// CPU %, MEM, DISK, INODES, SWAP. Without `all`, containers with no CPU and memory use (not
// running) are left out; containers missing from `before` too. INVALID_ARGUMENT "cpu stat is not
// updated during sample" when a running container's CPU timestamp did not move.
Result<std::string> FormatContainerStatsTable(
    const ::runtime::v1::ListContainerStatsResponse& before,
    const ::runtime::v1::ListContainerStatsResponse& after, bool all);

// The statsp table: POD, POD ID, CPU %, MEM.
Result<std::string> FormatPodStatsTable(const ::runtime::v1::ListPodSandboxStatsResponse& before,
                                        const ::runtime::v1::ListPodSandboxStatsResponse& after);

}  // namespace berth::cli
