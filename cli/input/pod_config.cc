#include "cli/input/pod_config.h"

#include <cstdio>
#include <random>

#include "cli/input/config_document.h"

namespace berth::cli {

Result<::runtime::v1::PodSandboxConfig> ParsePodSandboxConfig(std::string_view text,
                                                              std::string_view path) {
  ::runtime::v1::PodSandboxConfig config;
  BERTH_RETURN_IF_ERROR(ParseConfigDocument(text, path, &config));
  if (!config.has_metadata()) return InvalidArgument("metadata is not set");
  if (config.metadata().uid().empty()) config.mutable_metadata()->set_uid(RandomUuid());
  if (config.metadata().name().empty() || config.metadata().namespace_().empty()) {
    return InvalidArgument("name or namespace is not in metadata \"" +
                           config.metadata().ShortDebugString() + "\"");
  }
  return config;
}

Result<::runtime::v1::PodSandboxConfig> LoadPodSandboxConfig(const std::string& path) {
  auto text = ReadConfigFile(path);
  if (!text.ok()) return text.status();
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
