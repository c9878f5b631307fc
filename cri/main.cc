// berthd: the berth node daemon. Parses flags, loads the config file, runs the Daemon until
// SIGTERM or SIGINT. Everything else lives in daemon.cc and below.

#include <csignal>
#include <cstdio>

#include <CLI/CLI.hpp>

#include "cri/daemon.h"

int main(int argc, char** argv) {
  berth::DaemonConfig config;
  std::string config_file, socket, root, state, log_level, sandbox_image;
  std::vector<std::string> plugin_dirs;

  CLI::App app{"berthd: the berth container runtime daemon (CRI v1)"};
  // A flag given twice takes its last value, so wrappers can append overrides.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.set_version_flag("--version", BERTH_VERSION);
  app.add_option("--config", config_file, "JSON config file (see docs/configuration.md)");
  app.add_option("--socket", socket, "CRI unix socket (default " + config.socket + ")");
  app.add_option("--root", root, "persistent state directory (default " + config.root + ")");
  app.add_option("--state", state, "runtime state directory (default " + config.state + ")");
  app.add_option("--plugin-dir", plugin_dirs, "plugin directory (repeatable)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--sandbox-image", sandbox_image,
                 "image of pods' infra containers (default " + config.sandbox_image + ")");
  app.add_option("--log-level", log_level, "debug, info, warn or error (default info)");
  CLI11_PARSE(app, argc, argv);

  auto fail = [](const berth::Status& s) {
    std::fprintf(stderr, "berthd: %s\n", s.message().c_str());
    return 1;
  };
  if (!config_file.empty()) {
    if (auto s = berth::LoadDaemonConfigFile(config_file, config); !s.ok()) return fail(s);
  }
  if (!socket.empty()) config.socket = socket;
  if (!root.empty()) config.root = root;
  if (!state.empty()) config.state = state;
  if (!sandbox_image.empty()) config.sandbox_image = sandbox_image;
  if (!plugin_dirs.empty()) config.plugin_dirs = plugin_dirs;
  if (config.plugin_dirs.empty()) config.plugin_dirs = berth::DefaultPluginDirs();
  if (!log_level.empty()) {
    auto level = berth::ParseLogLevel(log_level);
    if (!level)
      return fail(berth::InvalidArgument("--log-level: \"" + log_level +
                                         "\" is not one of debug, info, warn, error"));
    config.log_level = *level;
  }

  // Block the shutdown signals before any thread exists so every gRPC thread inherits the
  // mask and only sigwait() below sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  berth::Logger logger(config.log_level);
  auto daemon = berth::Daemon::Start(std::move(config), logger);
  if (!daemon.ok()) return fail(daemon.status());

  int sig = 0;
  sigwait(&signals, &sig);
  logger.Info("received signal", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  (*daemon)->Shutdown();
  return 0;
}
