#include "cli/options.h"

#include <cstdlib>

#include "cli/duration.h"
#include "cli/endpoint.h"

namespace berth::cli {
namespace {

// The value of the first source that has one, remembering which source that was.
struct Chosen {
  std::string value;
  std::string source;  // "--runtime-endpoint", "CONTAINER_RUNTIME_ENDPOINT", "<file>", ""
};

Result<std::string> Target(const Chosen& chosen) {
  auto target = EndpointToTarget(chosen.value);
  if (!target.ok() && !chosen.source.empty()) return target.status().Wrap(chosen.source);
  return target;
}

Status NotEmpty(const std::optional<std::string>& flag, const char* name) {
  if (flag && flag->empty()) return InvalidArgument(std::string(name) + " must not be empty");
  return OkStatus();
}

}  // namespace

EnvLookup ProcessEnv() {
  return [](const char* name) -> std::optional<std::string> {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0') return std::nullopt;
    return std::string(v);
  };
}

Result<Options> ResolveOptions(const GlobalFlags& flags, const EnvLookup& env,
                               const std::string& default_config) {
  Options o;
  BERTH_RETURN_IF_ERROR(NotEmpty(flags.config, "--config"));
  BERTH_RETURN_IF_ERROR(NotEmpty(flags.runtime_endpoint, "--runtime-endpoint"));
  BERTH_RETURN_IF_ERROR(NotEmpty(flags.image_endpoint, "--image-endpoint"));

  // The config file first: it is the lowest-precedence source of everything else.
  bool explicit_config = true;
  if (flags.config) {
    o.config_path = *flags.config;
  } else if (auto v = env("CRI_CONFIG_FILE")) {
    o.config_path = *v;
  } else {
    o.config_path = default_config;
    explicit_config = false;
  }
  auto config = LoadCrictlConfig(o.config_path);
  if (config.ok()) {
    o.config = std::move(*config);
    o.config_loaded = true;
  } else if (explicit_config || (config.status().code() != StatusCode::kNotFound &&
                                 config.status().code() != StatusCode::kPermissionDenied)) {
    // Like crictl, an absent or unreadable default file is no reason to fail; but a default
    // file that exists and is wrong is reported rather than silently half-applied.
    return config.status().Wrap("config file");
  } else {
    o.config_skipped = config.status().message();
  }
  const std::string file_source = o.config_path;

  Chosen runtime{kDefaultEndpoint, ""};
  if (flags.runtime_endpoint) {
    runtime = {*flags.runtime_endpoint, "--runtime-endpoint"};
  } else if (auto v = env("CONTAINER_RUNTIME_ENDPOINT")) {
    runtime = {*v, "CONTAINER_RUNTIME_ENDPOINT"};
  } else if (o.config.runtime_endpoint) {
    runtime = {*o.config.runtime_endpoint, file_source + ": runtime-endpoint"};
  }

  Chosen image = runtime;
  if (flags.image_endpoint) {
    image = {*flags.image_endpoint, "--image-endpoint"};
  } else if (auto v = env("IMAGE_SERVICE_ENDPOINT")) {
    image = {*v, "IMAGE_SERVICE_ENDPOINT"};
  } else if (o.config.image_endpoint) {
    image = {*o.config.image_endpoint, file_source + ": image-endpoint"};
  }

  auto runtime_target = Target(runtime);
  if (!runtime_target.ok()) return runtime_target.status();
  auto image_target = Target(image);
  if (!image_target.ok()) return image_target.status();
  o.runtime_endpoint = runtime.value;
  o.runtime_target = std::move(*runtime_target);
  o.image_endpoint = image.value;
  o.image_target = std::move(*image_target);

  if (flags.timeout) {
    auto d = ParseDuration(*flags.timeout);
    if (!d.ok()) return d.status().Wrap("--timeout");
    if (d->count() == 0) return InvalidArgument("--timeout: must be greater than zero");
    o.timeout = *d;
  } else if (o.config.timeout) {
    o.timeout = *o.config.timeout;
  }

  if (flags.debug) {
    o.debug = *flags.debug;
  } else if (o.config.debug) {
    o.debug = *o.config.debug;
  }
  return o;
}

}  // namespace berth::cli
