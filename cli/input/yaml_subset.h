#pragma once
// Reading the YAML people write for crictl's --pod-config (and similar config files) into JSON,
// without a YAML library: a block-style subset that covers what those files use.
//
// Understood: block mappings and sequences (a sequence under a key may sit at the key's
// indentation, as go-yaml allows; "- key: value" items start a mapping), plain, 'single-' and
// "double-quoted" scalars, one-line flow collections ([a, b], {k: v}, [] and {}), `#` comments,
// a leading `---` and a trailing `...`. Plain scalars resolve like YAML 1.1 (go-yaml v2, which
// crictl uses): null/~/empty → null, true/false/yes/no/on/off → bool, integers and decimals →
// numbers, anything else a string.
// Refused with INVALID_ARGUMENT "<what>:<line>: <problem>": tabs in indentation, block
// scalars (| and >), anchors, aliases, tags, multi-line flow collections, repeated keys,
// several documents — rather than being half-understood.

#include <string_view>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace berth::cli {

// `what` names the input in messages (a file path).
Result<nlohmann::json> ParseYamlSubset(std::string_view text, std::string_view what);

}  // namespace berth::cli
