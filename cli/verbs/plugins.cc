#include "cli/verbs/plugins.h"

#include <memory>

#include "cli/output/format.h"
#include "cli/output/table.h"

namespace berth::cli {
namespace {

struct PluginsFlags {
  std::string output = "table";
  std::string type;
};

Status RunPlugins(Context& ctx, const PluginsFlags& flags) {
  auto format = ParseOutputFormat(flags.output,
                                  {OutputFormat::kTable, OutputFormat::kJson, OutputFormat::kYaml});
  if (!format.ok()) return format.status();

  ::berth::v1::ListPluginsRequest request;
  request.set_type(flags.type);
  auto& stub = ctx.connection.Introspection();
  auto response =
      ctx.connection.Call(stub, &::berth::v1::Introspection::Stub::ListPlugins, request);
  if (!response.ok()) return response.status().Wrap("listing plugins");

  if (*format == OutputFormat::kTable) {
    ctx.out << FormatPluginsTable(*response);
    return OkStatus();
  }
  auto json = PluginsJson(*response);
  if (!json.ok()) return json.status().Wrap("listing plugins");
  ctx.out << FormatStructured(*json, *format);
  return OkStatus();
}

}  // namespace

std::string FormatPluginsTable(const ::berth::v1::ListPluginsResponse& response) {
  // A library that failed to load has no type, name or version: "-" keeps the columns legible.
  auto cell = [](const std::string& s) { return s.empty() ? std::string("-") : s; };
  Table table({"TYPE", "NAME", "VERSION", "STATUS", "PATH"});
  for (const auto& p : response.plugins()) {
    table.AddRow({cell(p.type()), cell(p.name()), cell(p.version()), cell(p.status()), p.path()});
    if (p.status() != "ok") {
      table.AddNote("  error: " +
                    (p.error().empty() ? std::string("(no reason given)") : p.error()));
    }
  }
  return table.Render();
}

Result<nlohmann::json> PluginsJson(const ::berth::v1::ListPluginsResponse& response) {
  return MessageToJson(response);
}

void AddPluginsCommands(CLI::App& root, CommandList& commands) {
  auto flags = std::make_shared<PluginsFlags>();
  CLI::App* app =
      root.add_subcommand("plugins", "List the plugins berthd loaded, and the ones that failed");
  app->add_option("-o,--output", flags->output, "Output format, one of: table, json, yaml")
      ->capture_default_str();
  app->add_option("--type", flags->type, "Only plugins of this type (e.g. io.berth.runtime.v1)");
  commands.push_back({app, [flags](Context& ctx) { return RunPlugins(ctx, *flags); }});
}

}  // namespace berth::cli
