#pragma once
// crictl's container-config.[json|yaml]: a ContainerConfig read from a JSON or YAML file, for
// `berthctl create` and `berthctl run`.
//
// Read like --pod-config (pod_config.h): proto field names (snake_case or lowerCamelCase),
// unknown keys ignored, enums by name or number, YAML through the subset parser of
// yaml_subset.h, a file whose first character is '{' read as JSON. As in crictl, metadata must
// be set with a name.

#include <string>
#include <string_view>

#include "api/cri.h"
#include "common/status.h"

namespace berth::cli {

// Parses `text` as a ContainerConfig. "metadata is not set" / "name is not in metadata …"
// (INVALID_ARGUMENT) as crictl says them.
Result<::runtime::v1::ContainerConfig> ParseContainerConfig(std::string_view text,
                                                            std::string_view path);

// Reads and parses the file. "config at <path> not found" (NOT_FOUND) when it does not exist.
Result<::runtime::v1::ContainerConfig> LoadContainerConfig(const std::string& path);

}  // namespace berth::cli
