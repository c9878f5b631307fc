#include "cli/input/config_document.h"

#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>

#include "cli/input/yaml_subset.h"
#include "common/fs.h"

namespace berth::cli {

Status ParseConfigDocument(std::string_view text, std::string_view path,
                           google::protobuf::Message* message) {
  size_t first = text.find_first_not_of(" \t\r\n");
  nlohmann::json doc;
  if (first != std::string_view::npos && text[first] == '{') {
    doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) return InvalidArgument(std::string(path) + ": not valid JSON");
  } else {
    auto parsed = ParseYamlSubset(text, path);
    if (!parsed.ok()) return parsed.status();
    doc = std::move(*parsed);
  }
  if (!doc.is_object()) {
    return InvalidArgument(std::string(path) + ": expected a " + message->GetTypeName() +
                           " object");
  }
  message->Clear();
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  auto s = google::protobuf::util::JsonStringToMessage(doc.dump(), message, options);
  if (!s.ok()) return InvalidArgument(std::string(path) + ": " + std::string(s.message()));
  return OkStatus();
}

Result<std::string> ReadConfigFile(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok() && text.status().code() == StatusCode::kNotFound) {
    return NotFound("config at " + path + " not found");
  }
  return text;
}

}  // namespace berth::cli
