#pragma once
// JSON → YAML, for `-o yaml`. Written to match what crictl prints (sigs.k8s.io/yaml, i.e.
// go-yaml v2 in block style): 2-space indentation, sequences under a mapping key not indented,
// `{}` and `[]` for empty collections, object keys in the JSON's (for nlohmann: sorted) order.
//
// Strings are plain where that reads back as the same string; otherwise double-quoted with
// JSON escapes (valid YAML). The emitter quotes a little more eagerly than go-yaml (e.g. any
// string starting with a digit, "0.1.0"), which changes nothing for a YAML reader.

#include <string>

#include <nlohmann/json.hpp>

namespace berth::cli {

// The YAML document for `value`, ending with a newline. Never fails; invalid UTF-8 in strings
// is replaced with U+FFFD.
std::string JsonToYaml(const nlohmann::json& value);

}  // namespace berth::cli
