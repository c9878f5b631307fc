#include "cli/app.h"

#include <sstream>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/command.h"
#include "cli/duration.h"
#include "cli/verbs/image_import.h"
#include "cli/verbs/imagefsinfo.h"
#include "cli/verbs/images.h"
#include "cli/verbs/info.h"
#include "cli/verbs/inspecti.h"
#include "cli/verbs/plugins.h"
#include "cli/verbs/pull.h"
#include "cli/verbs/rmi.h"
#include "cli/verbs/version.h"
// berthctl pods/containers (issue 5)
#include "cli/verbs/containers.h"
#include "cli/verbs/exec.h"
// berthctl streaming (issue 6)
#include "cli/verbs/attach.h"
#include "cli/verbs/logs.h"
#include "cli/verbs/pods.h"
#include "cli/verbs/port_forward.h"
#include "cli/verbs/stats.h"

namespace berth::cli {
namespace {

// Every verb group, in the order `berthctl --help` lists them. New groups add one line here.
void AddAllCommands(CLI::App& root, CommandList& commands) {
  AddImagesCommands(root, commands);
  AddImageImportCommands(root, commands);  // `images import`: after AddImagesCommands
  AddImageFsInfoCommands(root, commands);
  AddInfoCommands(root, commands);
  AddInspectiCommands(root, commands);
  AddPluginsCommands(root, commands);
  AddPullCommands(root, commands);
  AddRmiCommands(root, commands);
  AddVersionCommands(root, commands);
  // berthctl pods/containers (issue 5)
  AddPodsCommands(root, commands);
  AddContainersCommands(root, commands);
  AddExecCommands(root, commands);
  AddLogsCommands(root, commands);
  AddStatsCommands(root, commands);
  // berthctl streaming (issue 6)
  AddAttachCommands(root, commands);
  AddPortForwardCommands(root, commands);
}

// The global flags' storage while CLI11 parses; GlobalFlags records which were given.
struct FlagStorage {
  std::string config, runtime_endpoint, image_endpoint, timeout;
  bool debug = false;
  CLI::Option *config_opt, *runtime_opt, *image_opt, *timeout_opt, *debug_opt;

  GlobalFlags Given() const {
    GlobalFlags g;
    if (config_opt->count() > 0) g.config = config;
    if (runtime_opt->count() > 0) g.runtime_endpoint = runtime_endpoint;
    if (image_opt->count() > 0) g.image_endpoint = image_endpoint;
    if (timeout_opt->count() > 0) g.timeout = timeout;
    if (debug_opt->count() > 0) g.debug = debug;
    return g;
  }
};

void AddGlobalFlags(CLI::App& app, FlagStorage& f) {
  f.config_opt = app.add_option(
      "-c,--config", f.config,
      std::string("Client config file (crictl.yaml) [env: CRI_CONFIG_FILE] (default: ") +
          kDefaultConfigPath + ")");
  f.runtime_opt = app.add_option(
      "-r,--runtime-endpoint", f.runtime_endpoint,
      std::string("Endpoint of the CRI runtime service [env: CONTAINER_RUNTIME_ENDPOINT] "
                  "(default: ") +
          kDefaultEndpoint + ")");
  f.image_opt = app.add_option(
      "-i,--image-endpoint", f.image_endpoint,
      "Endpoint of the CRI image service [env: IMAGE_SERVICE_ENDPOINT] (default: the runtime "
      "endpoint)");
  f.timeout_opt = app.add_option(
      "-t,--timeout", f.timeout,
      "Timeout of each request to the server, e.g. 2s, 500ms, 1m, or seconds (default: 2s)");
  f.debug_opt = app.add_flag("-D,--debug", f.debug, "Enable debug mode");
}

void DebugOptions(const Options& o, const DebugLog& debug) {
  if (!debug.enabled()) return;
  debug(o.config_loaded ? "config file " + o.config_path : "no config file: " + o.config_skipped);
  debug("runtime endpoint " + o.runtime_endpoint + " (gRPC target " + o.runtime_target + ")");
  debug("image endpoint " + o.image_endpoint + " (gRPC target " + o.image_target + ")");
  debug("timeout " + FormatDuration(o.timeout));
}

}  // namespace

int RunBerthctl(int argc, const char* const* argv, const EnvLookup& env, std::ostream& out,
                std::ostream& err) {
  std::istringstream no_input;
  return RunBerthctl(argc, argv, env, no_input, out, err, Terminal{});
}

int RunBerthctl(int argc, const char* const* argv, const EnvLookup& env, std::istream& in,
                std::ostream& out, std::ostream& err, Terminal terminal) {
  CLI::App app("berthctl: client for CRI runtimes (crictl-compatible) and for berth", "berthctl");
  app.set_version_flag("-v,--version", "berthctl version " BERTH_VERSION);
  // A flag given twice takes its last value, as with crictl.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  // Global flags may also follow the verb (`berthctl info -D`); subcommands inherit this.
  app.fallthrough();
  app.require_subcommand(0, 1);
  FlagStorage flags;
  AddGlobalFlags(app, flags);
  CommandList commands;
  AddAllCommands(app, commands);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e, out, err);  // --help, --version
    err << "berthctl: " << e.what() << " (see berthctl --help)\n";
    return 1;
  }

  const Command* chosen = nullptr;
  for (const Command& c : commands) {
    if (c.app->parsed()) chosen = &c;
  }
  if (chosen == nullptr) {
    out << app.help();
    return 0;
  }

  auto options = ResolveOptions(flags.Given(), env);
  if (!options.ok()) {
    err << "berthctl: " << options.status().message() << "\n";
    return 1;
  }
  DebugLog debug(options->debug, err);
  DebugOptions(*options, debug);
  Connection connection(*options, debug);
  Context context{*options, connection, debug, out, err, in, env, terminal};
  Status status = chosen->run(context);
  out.flush();
  if (!status.ok()) {
    err << "berthctl: " << status.message() << "\n";
    return 1;
  }
  return context.exit_code;
}

}  // namespace berth::cli
