#pragma once
// crictl's --pod-config: a PodSandboxConfig read from a JSON or YAML file.
//
// As crictl (sigs.k8s.io/yaml into the generated Go struct) does: keys are the proto field
// names (snake_case; the lowerCamelCase JSON names are accepted too), unknown keys are
// ignored, metadata must be set with a name and a namespace, and an empty metadata.uid is
// filled with a random UUID. YAML is read with the subset parser of yaml_subset.h; a file whose
// first character is '{' is read as JSON.

#include <string>
#include <string_view>

#include "api/cri.h"
#include "common/status.h"

namespace berth::cli {

// Parses `text` (the file's content; `path` is for messages).
Result<::runtime::v1::PodSandboxConfig> ParsePodSandboxConfig(std::string_view text,
                                                              std::string_view path);

// Reads and parses the file. "config at <path> not found" when it does not exist.
Result<::runtime::v1::PodSandboxConfig> LoadPodSandboxConfig(const std::string& path);

// A random (version 4) UUID, lower-case with dashes.
std::string RandomUuid();

}  // namespace berth::cli
