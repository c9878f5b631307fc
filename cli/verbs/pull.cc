#include "cli/verbs/pull.h"

#include <termios.h>

#include <memory>
#include <optional>

#include "cli/duration.h"
#include "cli/input/pod_config.h"
#include "cli/verbs/image_util.h"
#include "cli/verbs/pull_progress.h"

namespace berth::cli {
namespace {

struct PullFlags {
  std::vector<std::string> args;
  std::string creds, auth, username, pod_config, pull_timeout;
  std::vector<std::string> annotations;
  CLI::Option *creds_opt, *auth_opt, *timeout_opt, *pod_config_opt;
};

// The value of a flag, else of the environment variable crictl reads for it.
std::string FlagOrEnv(const CLI::Option* opt, const std::string& value, const Context& ctx,
                      const char* variable) {
  if (opt->count() > 0) return value;
  return ctx.env(variable).value_or("");
}

// crictl asks for the --username's password on the terminal without echo. On a terminal echo
// is turned off; from a pipe the first line is the password.
Result<std::string> ReadPassword(Context& ctx) {
  ctx.out << "Enter Password:" << std::flush;
  termios saved{};
  bool restore = false;
  if (ctx.terminal.in && ::tcgetattr(ctx.terminal.in_fd, &saved) == 0) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    restore = ::tcsetattr(ctx.terminal.in_fd, TCSAFLUSH, &quiet) == 0;
  }
  std::string password;
  bool got = static_cast<bool>(std::getline(ctx.in, password));
  if (restore) ::tcsetattr(ctx.terminal.in_fd, TCSAFLUSH, &saved);
  ctx.out << "\n";
  if (!got && password.empty()) return InvalidArgument("reading the password: no input");
  if (!password.empty() && password.back() == '\r') password.pop_back();
  return password;
}

Status RunPull(Context& ctx, const PullFlags& flags, CLI::App* app) {
  if (flags.args.empty() || flags.args.front().empty()) {
    return InvalidArgument("Image name cannot be empty");
  }
  if (flags.args.size() > 1) {
    ctx.out << app->help();
    return OkStatus();
  }
  const std::string& image = flags.args.front();

  CredentialFlags creds;
  creds.creds = FlagOrEnv(flags.creds_opt, flags.creds, ctx, "CRICTL_CREDS");
  creds.auth = FlagOrEnv(flags.auth_opt, flags.auth, ctx, "CRICTL_AUTH");
  creds.username = flags.username;
  std::optional<std::string> password;
  if (!creds.username.empty()) {
    auto p = ReadPassword(ctx);
    if (!p.ok()) return p.status();
    password = std::move(*p);
  }
  auto auth = BuildAuthConfig(creds, password);
  if (!auth.ok()) return auth.status();

  ::runtime::v1::PullImageRequest request;
  request.mutable_image()->set_image(image);
  if (*auth) *request.mutable_auth() = **auth;
  if (flags.pod_config_opt->count() > 0) {
    auto sandbox = LoadPodSandboxConfig(flags.pod_config);
    if (!sandbox.ok()) return sandbox.status().Wrap("load podSandboxConfig");
    *request.mutable_sandbox_config() = std::move(*sandbox);
  }
  auto annotations = ParseKeyValues(flags.annotations);
  if (!annotations.ok()) return annotations.status();
  for (const auto& [k, v] : *annotations) (*request.mutable_image()->mutable_annotations())[k] = v;

  // crictl pulls without a deadline unless --pull-timeout (or CRICTL_PULL_TIMEOUT) says so.
  std::optional<std::chrono::nanoseconds> timeout;
  std::string timeout_text =
      FlagOrEnv(flags.timeout_opt, flags.pull_timeout, ctx, "CRICTL_PULL_TIMEOUT");
  if (!timeout_text.empty()) {
    auto d = ParseDuration(timeout_text);
    if (!d.ok()) return d.status().Wrap("--pull-timeout");
    if (d->count() > 0) timeout = *d;
  }

  // Both stubs exist before the watcher thread starts: Connection is not thread-safe.
  auto& images = ctx.connection.Image();
  auto& berth_images = ctx.connection.Images();
  ProgressRenderer renderer(ctx.out, ctx.terminal.out);
  PullWatcher watcher(berth_images, image, renderer);
  watcher.Start();
  auto response = ctx.connection.CallWithin(timeout, images,
                                            &::runtime::v1::ImageService::Stub::PullImage, request);
  watcher.Stop();
  for (const std::string& note : watcher.notes()) ctx.debug(note);
  if (!response.ok()) return response.status().Wrap("pulling image");
  ctx.out << "Image is up to date for " << response->image_ref() << "\n";
  return OkStatus();
}

}  // namespace

Result<std::map<std::string, std::string>> ParseKeyValues(const std::vector<std::string>& items) {
  std::map<std::string, std::string> out;
  for (const std::string& s : items) {
    size_t eq = s.find('=');
    if (eq == std::string::npos || s.find('=', eq + 1) != std::string::npos) {
      return InvalidArgument("incorrectly specified label: " + s);
    }
    out[s.substr(0, eq)] = s.substr(eq + 1);
  }
  return out;
}

void AddPullCommands(CLI::App& root, CommandList& commands) {
  auto flags = std::make_shared<PullFlags>();
  CLI::App* app = root.add_subcommand("pull", "Pull an image from a registry");
  app->add_option("image", flags->args, "NAME[:TAG|@DIGEST]");
  flags->creds_opt =
      app->add_option("--creds", flags->creds,
                      "Use USERNAME[:PASSWORD] for accessing the registry [env: CRICTL_CREDS]");
  flags->auth_opt =
      app->add_option("--auth", flags->auth,
                      "Use AUTH_STRING for accessing the registry. AUTH_STRING is a base64 encoded "
                      "'USERNAME[:PASSWORD]' [env: CRICTL_AUTH]");
  app->add_option("-u,--username", flags->username,
                  "Use USERNAME for accessing the registry. The password will be requested on "
                  "the command line");
  flags->pod_config_opt = app->add_option(
      "--pod-config", flags->pod_config, "Use pod-config.[json|yaml] to override the pull context");
  app->add_option("-a,--annotation", flags->annotations,
                  "Annotation to be set on the pulled image (key=value; repeatable)")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  flags->timeout_opt =
      app->add_option("--pull-timeout,--pt", flags->pull_timeout,
                      "Maximum time to be used for pulling the image, disabled if set to 0s "
                      "[env: CRICTL_PULL_TIMEOUT]");
  commands.push_back({app, [flags, app](Context& ctx) { return RunPull(ctx, *flags, app); }});
}

}  // namespace berth::cli
