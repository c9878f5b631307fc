#pragma once
// The one way berthctl reads a crictl-style config file (pod or container config) into a CRI
// message: JSON when the text starts with '{', else the YAML subset of yaml_subset.h; proto
// field names (or their lowerCamelCase JSON names) as keys; unknown keys ignored, as crictl does.

#include <string>
#include <string_view>

#include <google/protobuf/message.h>

#include "common/status.h"

namespace berth::cli {

// Parses `text` into `message`, which is cleared first. INVALID_ARGUMENT "<path>: …" for text
// that is neither JSON nor YAML, a document that is not an object, or values of the wrong type.
Status ParseConfigDocument(std::string_view text, std::string_view path,
                           google::protobuf::Message* message);

// The file's content; NOT_FOUND "config at <path> not found" when it does not exist.
Result<std::string> ReadConfigFile(const std::string& path);

}  // namespace berth::cli
