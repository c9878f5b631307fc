#pragma once
// berthctl's global options: where they come from and which source wins.
//
// Precedence is crictl's: command-line flag > environment variable > crictl.yaml > default.
//   runtime endpoint   --runtime-endpoint/-r > CONTAINER_RUNTIME_ENDPOINT > runtime-endpoint
//                      > unix:///run/berth/berth.sock
//   image endpoint     --image-endpoint/-i > IMAGE_SERVICE_ENDPOINT > image-endpoint
//                      > the resolved runtime endpoint
//   timeout            --timeout/-t > timeout > 2s
//   debug              --debug/-D > debug > false
//   config file        --config/-c > CRI_CONFIG_FILE > /etc/crictl.yaml; a missing default file
//                      (or one the user may not read) is fine; a missing file that was asked
//                      for is an error, and so is a file that exists but does not parse.

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "cli/crictl_config.h"
#include "common/status.h"

namespace berth::cli {

inline constexpr char kDefaultEndpoint[] = "unix:///run/berth/berth.sock";
inline constexpr char kDefaultConfigPath[] = "/etc/crictl.yaml";
inline constexpr std::chrono::seconds kDefaultTimeout{2};

// The global flags exactly as given; nullopt for the ones not on the command line.
struct GlobalFlags {
  std::optional<std::string> config;
  std::optional<std::string> runtime_endpoint;
  std::optional<std::string> image_endpoint;
  std::optional<std::string> timeout;  // unparsed: "2s", "500ms", "2"
  std::optional<bool> debug;
};

// Looks up an environment variable; nullopt when unset. Injected so that tests need no setenv.
using EnvLookup = std::function<std::optional<std::string>(const char* name)>;

// The real process environment. An empty variable counts as unset.
EnvLookup ProcessEnv();

// Which of berthctl's standard streams are terminals: a progress bar is drawn only on one, and
// a password prompt hides the typing only on one.
struct Terminal {
  bool in = false;   // stdin
  bool out = false;  // stdout
  int in_fd = -1;    // stdin's fd when `in` (for turning echo off)
  // The process's own stdio fds, set by main(): the streaming verbs (exec, attach) read and
  // write them directly, unbuffered. -1 in in-process runs, which use the C++ streams.
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
};

// The options every verb runs with.
struct Options {
  std::string runtime_endpoint;  // as the user wrote it (for messages)
  std::string image_endpoint;
  std::string runtime_target;  // the gRPC target it maps to (see endpoint.h)
  std::string image_target;
  std::chrono::nanoseconds timeout{kDefaultTimeout};  // deadline of every RPC; > 0
  bool debug = false;
  std::string config_path;     // the crictl.yaml consulted
  bool config_loaded = false;  // false when the default file does not exist
  std::string config_skipped;  // why the default file was not used (for --debug)
  CrictlConfig config;         // the file's content, for verbs that use its other keys
};

// Applies the precedence above. Reads the config file. INVALID_ARGUMENT for a bad flag value,
// an empty or unsupported endpoint, or a bad config file; NOT_FOUND for a missing config file
// that was asked for. Messages name the flag, variable or file line at fault.
// `default_config` replaces /etc/crictl.yaml (for tests).
Result<Options> ResolveOptions(const GlobalFlags& flags, const EnvLookup& env,
                               const std::string& default_config = kDefaultConfigPath);

}  // namespace berth::cli
