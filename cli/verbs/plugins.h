#pragma once
// berthctl plugins: what berthd loaded (berth.v1.Introspection/ListPlugins), failures included.

#include <string>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "introspection.pb.h"

namespace berth::cli {

void AddPluginsCommands(CLI::App& root, CommandList& commands);

// TYPE NAME VERSION STATUS PATH columns ("-" for an empty cell); beneath a plugin whose status
// is not "ok", an indented "error: <why>" line, so that the reason is next to its plugin.
std::string FormatPluginsTable(const ::berth::v1::ListPluginsResponse& response);

// {"plugins": [{"type", "name", "version", "path", "status", "error", "requires"}, ...]},
// every field present (protojson with defaults).
Result<nlohmann::json> PluginsJson(const ::berth::v1::ListPluginsResponse& response);

}  // namespace berth::cli
