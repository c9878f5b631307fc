#pragma once
// How verbs print structured results: the -o/--output choices and JSON as crictl prints it.

#include <initializer_list>
#include <string>
#include <string_view>

#include <google/protobuf/message.h>
#include <nlohmann/json.hpp>

#include "common/status.h"

namespace berth::cli {

enum class OutputFormat { kTable, kJson, kYaml };

std::string_view OutputFormatName(OutputFormat format);

// Parses an -o value among those a verb supports; INVALID_ARGUMENT listing them otherwise.
Result<OutputFormat> ParseOutputFormat(std::string_view name,
                                       std::initializer_list<OutputFormat> supported);

// `value` pretty-printed with a 2-space indent plus a newline (crictl's json.Indent style).
// Invalid UTF-8 in strings is replaced with U+FFFD instead of throwing.
std::string FormatJson(const nlohmann::json& value);

// `value` as JSON or YAML text; kTable is not a rendering of arbitrary JSON (precondition).
std::string FormatStructured(const nlohmann::json& value, OutputFormat format);

// A protobuf message as JSON the way crictl renders messages (Go protojson with
// EmitDefaultValues): lowerCamelCase field names, fields at their default value included,
// enums by name, 64-bit integers as strings.
Result<nlohmann::json> MessageToJson(const google::protobuf::Message& message);

// Compact one-line JSON of a message, for --debug traces. Never fails (falls back to the
// protobuf debug string).
std::string MessageToDebugString(const google::protobuf::Message& message);

}  // namespace berth::cli
