#include "cli/input/container_config.h"

#include "cli/input/config_document.h"

namespace berth::cli {

Result<::runtime::v1::ContainerConfig> ParseContainerConfig(std::string_view text,
                                                            std::string_view path) {
  ::runtime::v1::ContainerConfig config;
  BERTH_RETURN_IF_ERROR(ParseConfigDocument(text, path, &config));
  if (!config.has_metadata()) return InvalidArgument("metadata is not set");
  if (config.metadata().name().empty()) {
    return InvalidArgument("name is not in metadata \"" + config.metadata().ShortDebugString() +
                           "\"");
  }
  return config;
}

Result<::runtime::v1::ContainerConfig> LoadContainerConfig(const std::string& path) {
  auto text = ReadConfigFile(path);
  if (!text.ok()) return text.status();
  return ParseContainerConfig(*text, path);
}

}  // namespace berth::cli
