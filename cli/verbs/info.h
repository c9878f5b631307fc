#pragma once
// berthctl info: the runtime's status conditions and verbose info, as crictl info prints them.

#include <nlohmann/json.hpp>

#include "api/cri.h"
#include "cli/command.h"

namespace berth::cli {

void AddInfoCommands(CLI::App& root, CommandList& commands);

// The object crictl info prints for a StatusResponse:
//   "status":  the RuntimeStatus as protojson renders it (camelCase, defaults included);
//   "runtimeHandlers", "features": when the response has them (newer CRI versions), as
//              crictl's encoding/json renders them (snake_case, empty fields left out);
//   each info entry under its key: its value parsed as JSON when it is valid JSON (runtimes
//              put JSON documents there), else the string with surrounding quotes trimmed.
// Keys come out sorted, as Go's map encoding sorts them. An info key named like one of the
// fields above replaces it, as in crictl.
Result<nlohmann::json> InfoJson(const ::runtime::v1::StatusResponse& response);

}  // namespace berth::cli
