#pragma once
// berthd's configuration: defaults, the JSON config file, then command-line flags, in that
// order of precedence (flags win). Every key of the file is optional and unknown keys are
// errors. docs/configuration.md documents each key.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/log.h"
#include "common/status.h"

namespace berth {

// The streaming server for exec/attach/port-forward (cri/streaming; config key "streaming").
struct StreamingConfig {
  std::string address = "127.0.0.1";  // IP literal to listen on
  int64_t port = 0;                   // 0: chosen by the kernel at each start
  std::string tls_cert_file;          // both set: HTTPS
  std::string tls_key_file;
  int64_t idle_timeout_s = 4 * 60 * 60;  // kubelet's default stream idle timeout; 0 = none
  int64_t token_ttl_s = 60;              // how long an Exec/Attach/PortForward URL stays valid
};

struct DaemonConfig {
  std::string socket = "/run/berth/berth.sock";  // CRI + berth.v1 gRPC, unix socket
  std::string root = "/var/lib/berth";           // persistent state (metadata, images)
  std::string state = "/run/berth";              // runtime state, gone at reboot
  std::vector<std::string> plugin_dirs;          // searched in order for plugin *.so
  LogLevel log_level = LogLevel::kInfo;
  nlohmann::json plugins = nlohmann::json::object();  // plugin name -> its own config object
  // Images (docs/configuration.md): the snapshotter plugin that unpacks pulled layers, the
  // pod sandbox image (pinned: listed as pinned, as containerd does), the registry hosts
  // ({"hosts": {...}}, see cri/image/registry/config.h) and parallel layer downloads per pull.
  std::string snapshotter = "overlay";
  std::string sandbox_image = "registry.k8s.io/pause:3.9";
  nlohmann::json registry = nlohmann::json::object();
  int64_t max_concurrent_downloads = 3;
  // Pods and containers (docs/configuration.md): the runtime plugin of pods without a
  // RuntimeClass, extra runtime handlers ({"<handler>": {"plugin": "<name>"}}, see
  // cri/runtime/runtime_handlers.h) and the network plugin that wires pod network namespaces.
  std::string default_runtime = "native";
  nlohmann::json runtime_handlers = nlohmann::json::object();
  std::string network_plugin = "cni";
  StreamingConfig streaming;

  // The effective configuration as JSON (for Status verbose info and debugging).
  nlohmann::json ToJson() const;
};

// Reads `path` into `config`, leaving keys the file does not set as they are.
// INVALID_ARGUMENT naming the file and key for bad JSON, wrong types or unknown keys;
// NOT_FOUND when the file does not exist.
Status LoadDaemonConfigFile(const std::string& path, DaemonConfig& config);

// The plugin directories used when neither the file nor a flag names any: the installed
// location, next to the running binary (../lib/berth/plugins) and the build tree's plugins.d.
std::vector<std::string> DefaultPluginDirs();

}  // namespace berth
