#include "cli/output/format.h"

#include <google/protobuf/util/json_util.h>

#include "cli/output/yaml.h"

namespace berth::cli {

std::string_view OutputFormatName(OutputFormat format) {
  switch (format) {
    case OutputFormat::kTable:
      return "table";
    case OutputFormat::kJson:
      return "json";
    case OutputFormat::kYaml:
      return "yaml";
  }
  return "?";
}

Result<OutputFormat> ParseOutputFormat(std::string_view name,
                                       std::initializer_list<OutputFormat> supported) {
  std::string names;
  for (OutputFormat f : supported) {
    if (OutputFormatName(f) == name) return f;
    if (!names.empty()) names += ", ";
    names += OutputFormatName(f);
  }
  return InvalidArgument("unsupported output format \"" + std::string(name) +
                         "\" (use one of: " + names + ")");
}

std::string FormatJson(const nlohmann::json& value) {
  return value.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string FormatStructured(const nlohmann::json& value, OutputFormat format) {
  return format == OutputFormat::kYaml ? JsonToYaml(value) : FormatJson(value);
}

Result<nlohmann::json> MessageToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;  // protojson's EmitDefaultValues
  std::string text;
  auto s = google::protobuf::util::MessageToJsonString(message, &text, options);
  if (!s.ok()) {
    return Internal("render " + message.GetTypeName() + " as JSON: " + s.ToString());
  }
  auto parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return Internal("render " + message.GetTypeName() + " as JSON");
  return parsed;
}

std::string MessageToDebugString(const google::protobuf::Message& message) {
  std::string text;
  if (google::protobuf::util::MessageToJsonString(message, &text).ok()) return text;
  return message.ShortDebugString();
}

}  // namespace berth::cli
