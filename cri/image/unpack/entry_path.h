#pragma once
// Names of tar entries: normalisation inside the layer root and quoting for messages.

#include <string>
#include <string_view>

#include "common/status.h"

namespace berth {

// Normalises a tar entry name to a path relative to the layer root: a leading "/" is dropped,
// empty and "." components are ignored, ".." removes the previous component. "" means the root.
// INVALID_ARGUMENT when the name is empty, contains NUL, is PATH_MAX bytes or longer, or climbs
// above the root with "..".
Result<std::string> CleanEntryPath(std::string_view name);

// `name` in double quotes with control characters, quotes and backslashes escaped, so that a
// hostile name cannot forge log lines or messages; names over 256 bytes are cut (with their
// length appended).
std::string QuoteName(std::string_view name);

// "a/b" → {"a", "b"}; "b" → {"", "b"}. Precondition: a cleaned, non-empty path.
std::pair<std::string_view, std::string_view> SplitDirBase(std::string_view clean);

// `dir` + "/" + `name`, or `name` when dir is empty.
std::string JoinPath(std::string_view dir, std::string_view name);

}  // namespace berth
