#include "cri/runtime/runtime_handlers.h"

#include <algorithm>
#include <map>

namespace berth {

Result<RuntimeHandlers> RuntimeHandlers::FromConfig(const DaemonConfig& config) {
  if (config.default_runtime.empty()) {
    return InvalidArgument("config.default_runtime: must name a runtime plugin");
  }
  std::map<std::string, std::string> by_name = {
      {"", config.default_runtime}, {"native", "native"}, {"runc", "oci"}};
  if (!config.runtime_handlers.is_object()) {
    return InvalidArgument("config.runtime_handlers: expected an object");
  }
  for (const auto& [name, entry] : config.runtime_handlers.items()) {
    std::string where = "config.runtime_handlers." + name;
    if (name.empty()) {
      return InvalidArgument(where + ": the default handler is set by \"default_runtime\"");
    }
    if (!entry.is_object()) return InvalidArgument(where + ": expected an object");
    for (const auto& [key, value] : entry.items()) {
      if (key != "plugin") return InvalidArgument(where + ": unknown key \"" + key + "\"");
      if (!value.is_string() || value.get<std::string>().empty()) {
        return InvalidArgument(where + ".plugin: expected the name of a runtime plugin");
      }
    }
    if (!entry.contains("plugin")) return InvalidArgument(where + ": \"plugin\" is required");
    by_name[name] = entry["plugin"].get<std::string>();
  }
  RuntimeHandlers h;
  for (auto& [name, plugin] : by_name) h.handlers_.push_back({name, plugin});  // "" sorts first
  return h;
}

Result<RuntimeHandler> RuntimeHandlers::Resolve(const std::string& handler) const {
  auto it = std::find_if(handlers_.begin(), handlers_.end(),
                         [&](const RuntimeHandler& h) { return h.name == handler; });
  if (it != handlers_.end()) return *it;
  std::string known;
  for (const RuntimeHandler& h : handlers_) {
    if (h.name.empty()) continue;
    known += (known.empty() ? "" : ", ") + h.name;
  }
  return NotFound("runtime handler \"" + handler + "\" is not configured (known: " + known +
                  "; see \"runtime_handlers\" in docs/configuration.md)");
}

}  // namespace berth
