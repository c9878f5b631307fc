#include "cli/input/pod_config.h"

#include <cstdio>
#include <random>

#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>

#include "cli/input/yaml_subset.h"
#include "common/fs.h"

namespace berth::cli {

Result<::runtime::v1::PodSandboxConfig> ParsePodSandboxConfig(std::string_view text,
                                                              std::string_view path) {
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
    return InvalidArgument(std::string(path) + ": expected a PodSandboxConfig object");
  }
  ::runtime::v1::PodSandboxConfig config;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  auto s = google::protobuf::util::JsonStringToMessage(doc.dump(), &config, options);
  if (!s.ok()) return InvalidArgument(std::string(path) + ": " + std::string(s.message()));
  if (!config.has_metadata()) return InvalidArgument("metadata is not set");
  if (config.metadata().uid().empty()) config.mutable_metadata()->set_uid(RandomUuid());
  if (config.metadata().name().empty() || config.metadata().namespace_().empty()) {
    return InvalidArgument("name or namespace is not in metadata \"" +
                           config.metadata().ShortDebugString() + "\"");
  }
  return config;
}

Result<::runtime::v1::PodSandboxConfig> LoadPodSandboxConfig(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) {
      return NotFound("config at " + path + " not found");
    }
    return text.status();
  }
  return ParsePodSandboxConfig(*text, path);
}

std::string RandomUuid() {
  std::random_device rd;
  std::uniform_int_distribution<uint32_t> byte(0, 255);
  unsigned char b[16];
  for (auto& x : b) x = static_cast<unsigned char>(byte(rd));
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  char out[37];
  std::snprintf(out, sizeof out,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return out;
}

}  // namespace berth::cli
