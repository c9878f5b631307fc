#include "cri/daemon_config.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <filesystem>

#include "common/fs.h"
#include "common/json_reader.h"

namespace berth {

nlohmann::json DaemonConfig::ToJson() const {
  return {
      {"socket", socket},
      {"root", root},
      {"state", state},
      {"plugin_dirs", plugin_dirs},
      {"log_level", LogLevelName(log_level)},
      {"plugins", plugins},
      {"snapshotter", snapshotter},
      {"sandbox_image", sandbox_image},
      {"registry", registry},
      {"max_concurrent_downloads", max_concurrent_downloads},
      {"default_runtime", default_runtime},
      {"runtime_handlers", runtime_handlers},
      {"network_plugin", network_plugin},
      {"streaming",
       {{"address", streaming.address},
        {"port", streaming.port},
        {"tls_cert_file", streaming.tls_cert_file},
        {"tls_key_file", streaming.tls_key_file},
        {"idle_timeout_s", streaming.idle_timeout_s},
        {"token_ttl_s", streaming.token_ttl_s}}},
  };
}

namespace {

// The "streaming" section (StreamingConfig), validated as far as it can be without binding.
Status ReadStreamingConfig(const nlohmann::json& section, const std::string& where,
                           StreamingConfig& c) {
  JsonObjectReader r(section, where);
  r.Get("address", c.address);
  r.Get("port", c.port);
  r.Get("tls_cert_file", c.tls_cert_file);
  r.Get("tls_key_file", c.tls_key_file);
  r.Get("idle_timeout_s", c.idle_timeout_s);
  r.Get("token_ttl_s", c.token_ttl_s);
  BERTH_RETURN_IF_ERROR(r.Finish());
  in6_addr addr;
  if (::inet_pton(AF_INET, c.address.c_str(), &addr) != 1 &&
      ::inet_pton(AF_INET6, c.address.c_str(), &addr) != 1) {
    return InvalidArgument(r.PathOf("address") + ": \"" + c.address +
                           "\" is not an IPv4 or IPv6 address");
  }
  if (c.port < 0 || c.port > 65535) {
    return InvalidArgument(r.PathOf("port") + ": must be between 0 (any) and 65535");
  }
  if (c.tls_cert_file.empty() != c.tls_key_file.empty()) {
    return InvalidArgument(where + ": tls_cert_file and tls_key_file must be set together");
  }
  if (c.idle_timeout_s < 0) return InvalidArgument(r.PathOf("idle_timeout_s") + ": must be >= 0");
  if (c.token_ttl_s < 1 || c.token_ttl_s > 24 * 60 * 60) {
    return InvalidArgument(r.PathOf("token_ttl_s") + ": must be between 1 and 86400");
  }
  return OkStatus();
}

}  // namespace

Status LoadDaemonConfigFile(const std::string& path, DaemonConfig& config) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status().Wrap("config file");
  auto doc = ParseJson(*text, path);
  if (!doc.ok()) return doc.status();

  JsonObjectReader r(*doc, path);
  std::string log_level(LogLevelName(config.log_level));
  r.Get("socket", config.socket);
  r.Get("root", config.root);
  r.Get("state", config.state);
  r.Get("plugin_dirs", config.plugin_dirs);
  r.Get("log_level", log_level);
  r.GetObject("plugins", config.plugins);
  r.Get("snapshotter", config.snapshotter);
  r.Get("sandbox_image", config.sandbox_image);
  r.GetObject("registry", config.registry);
  r.Get("max_concurrent_downloads", config.max_concurrent_downloads);
  r.Get("default_runtime", config.default_runtime);
  r.GetObject("runtime_handlers", config.runtime_handlers);
  r.Get("network_plugin", config.network_plugin);
  nlohmann::json streaming;
  r.GetObject("streaming", streaming);
  BERTH_RETURN_IF_ERROR(r.Finish());
  if (!streaming.is_null()) {
    BERTH_RETURN_IF_ERROR(ReadStreamingConfig(streaming, r.PathOf("streaming"), config.streaming));
  }
  if (config.snapshotter.empty()) {
    return InvalidArgument(r.PathOf("snapshotter") + ": must name a snapshotter plugin");
  }
  if (config.max_concurrent_downloads < 1 || config.max_concurrent_downloads > 64) {
    return InvalidArgument(r.PathOf("max_concurrent_downloads") + ": must be between 1 and 64");
  }

  auto level = ParseLogLevel(log_level);
  if (!level) {
    return InvalidArgument(r.PathOf("log_level") + ": \"" + log_level +
                           "\" is not one of debug, info, warn, error");
  }
  config.log_level = *level;
  for (const auto& [name, section] : config.plugins.items()) {
    if (!section.is_object()) {
      return InvalidArgument(r.PathOf("plugins") + "." + name + ": expected an object, got " +
                             section.type_name());
    }
  }
  return OkStatus();
}

std::vector<std::string> DefaultPluginDirs() {
  std::vector<std::string> dirs;
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    auto bin_dir = exe.parent_path();
    // Installed layout: <prefix>/bin/berthd and <prefix>/lib/berth/plugins.
    dirs.push_back((bin_dir.parent_path() / "lib/berth/plugins").string());
    // Build tree layout: <build>/cri/berthd and <build>/plugins.d.
    dirs.push_back((bin_dir.parent_path() / "plugins.d").string());
  }
  dirs.push_back("/usr/local/lib/berth/plugins");
  dirs.push_back("/usr/lib/berth/plugins");
  return dirs;
}

}  // namespace berth
