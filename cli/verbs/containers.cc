#include "cli/verbs/containers.h"

#include <glob.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <algorithm>
#include <memory>
#include <optional>

#include "cli/duration.h"
#include "cli/input/container_config.h"
#include "cli/input/pod_config.h"
#include "cli/output/format.h"
#include "cli/output/table.h"
#include "cli/verbs/cri_util.h"
#include "cli/verbs/image_util.h"

namespace berth::cli {
namespace {

using ::runtime::v1::Container;
using Stub = ::runtime::v1::RuntimeService::Stub;

constexpr char kPodNameLabel[] = "io.kubernetes.pod.name";
constexpr char kPodNamespaceLabel[] = "io.kubernetes.pod.namespace";

// The image pull flags `create` and `run` share with crictl.
struct PullFlags {
  bool no_pull = false, with_pull = false;
  std::string creds, auth, username, cancel_timeout, pull_timeout;
  CLI::Option* pull_timeout_opt = nullptr;
};

struct CreateFlags {
  std::vector<std::string> args;
  PullFlags pull;
  std::string runtime;  // run only
};

struct IdsFlags {
  std::vector<std::string> ids;
  bool force = false, all = false, keep_logs = false;
  int64_t timeout = 0;
};

struct ListFlags {
  std::vector<std::string> extra;
  std::string id, name, namespace_, pod, image, state, output = "table";
  std::vector<std::string> labels;
  bool verbose = false, quiet = false, all = false, latest = false, no_trunc = false,
       resolve_image_path = false;
  int last = 0;
};

struct InspectFlags {
  std::vector<std::string> ids;
  std::string output, name, namespace_, pod, image, state;
  std::vector<std::string> labels;
  bool quiet = false, latest = false, all = false;
  int last = 0;
};

struct UpdateFlags {
  std::vector<std::string> ids;
  int64_t cpu_period = 0, cpu_quota = 0, cpu_shares = 0, memory = 0, oom_score_adj = 0;
  std::string cpuset_cpus, cpuset_mems;
};

Result<std::optional<std::chrono::nanoseconds>> OptionalDuration(const std::string& text,
                                                                 const char* flag) {
  if (text.empty()) return std::optional<std::chrono::nanoseconds>();
  auto d = ParseDuration(text);
  if (!d.ok()) return d.status().Wrap(flag);
  if (d->count() == 0) return std::optional<std::chrono::nanoseconds>();
  return std::optional<std::chrono::nanoseconds>(*d);
}

// crictl pulls the container's image before creating it when asked to (PullImageWithSandbox).
Status PullForCreate(Context& ctx, const PullFlags& flags,
                     const ::runtime::v1::ContainerConfig& config,
                     const ::runtime::v1::PodSandboxConfig* pod) {
  CredentialFlags creds{flags.creds, flags.auth, flags.username};
  std::optional<std::string> password;
  if (!flags.username.empty()) {
    ctx.out << "Enter Password:" << std::flush;
    std::string line;
    std::getline(ctx.in, line);
    ctx.out << "\n";
    if (!line.empty() && line.back() == '\r') line.pop_back();
    password = line;
  }
  auto auth = BuildAuthConfig(creds, password);
  if (!auth.ok()) return auth.status();
  std::string timeout_text = flags.pull_timeout;
  if (flags.pull_timeout_opt->count() == 0) {
    timeout_text = ctx.env("CRICTL_PULL_TIMEOUT").value_or("");
  }
  auto timeout = OptionalDuration(timeout_text, "--pull-timeout");
  if (!timeout.ok()) return timeout.status();

  std::vector<std::string> images = {config.image().image()};
  for (const auto& m : config.mounts()) {
    if (m.has_image() && !m.image().image().empty()) images.push_back(m.image().image());
  }
  for (const std::string& image : images) {
    ctx.err << "Pulling container image: " << image << "\n";
    ::runtime::v1::PullImageRequest request;
    request.mutable_image()->set_image(image);
    *request.mutable_image()->mutable_annotations() = config.image().annotations();
    if (*auth) *request.mutable_auth() = **auth;
    if (pod != nullptr) *request.mutable_sandbox_config() = *pod;
    auto r = ctx.connection.CallWithin(*timeout, ctx.connection.Image(),
                                       &::runtime::v1::ImageService::Stub::PullImage, request);
    if (!r.ok()) return r.status().Wrap("pulling image \"" + image + "\"");
  }
  return OkStatus();
}

// crictl's CreateContainer: loads both configs, pulls when asked, creates; the new id.
Result<std::string> CreateContainer(Context& ctx, const std::string& pod_id,
                                    const std::string& config_path, const std::string& pod_path,
                                    const PullFlags& flags, bool with_pull,
                                    std::chrono::nanoseconds timeout) {
  auto config = LoadContainerConfig(config_path);
  if (!config.ok()) return config.status();
  std::optional<::runtime::v1::PodSandboxConfig> pod;
  if (!pod_path.empty()) {
    auto loaded = LoadPodSandboxConfig(pod_path);
    if (!loaded.ok()) return loaded.status();
    pod = std::move(*loaded);
  }
  if (config->image().user_specified_image().empty()) {
    config->mutable_image()->set_user_specified_image(config->image().image());
  }
  if (with_pull) BERTH_RETURN_IF_ERROR(PullForCreate(ctx, flags, *config, pod ? &*pod : nullptr));
  ::runtime::v1::CreateContainerRequest request;
  request.set_pod_sandbox_id(pod_id);
  *request.mutable_config() = std::move(*config);
  if (pod) *request.mutable_sandbox_config() = std::move(*pod);
  auto r =
      ctx.connection.CallWithin(timeout, ctx.connection.Runtime(), &Stub::CreateContainer, request);
  if (!r.ok()) return r.status();
  return r->container_id();
}

Status StartContainer(Context& ctx, const std::string& id, const std::string& shown) {
  ::runtime::v1::StartContainerRequest request;
  request.set_container_id(id);
  auto r = ctx.connection.Call(ctx.connection.Runtime(), &Stub::StartContainer, request);
  if (!r.ok()) return r.status();
  ctx.out << shown << "\n";
  return OkStatus();
}

Status StopContainer(Context& ctx, const std::string& id, const std::string& shown,
                     int64_t timeout) {
  ::runtime::v1::StopContainerRequest request;
  request.set_container_id(id);
  request.set_timeout(timeout);
  // cri-client's deadline: the request timeout plus the grace period.
  auto deadline = ctx.options.timeout + std::chrono::seconds(std::max<int64_t>(timeout, 0));
  auto r =
      ctx.connection.CallWithin(deadline, ctx.connection.Runtime(), &Stub::StopContainer, request);
  if (!r.ok()) return r.status();
  ctx.out << shown << "\n";
  return OkStatus();
}

Result<std::chrono::nanoseconds> CancelTimeout(const Context& ctx, const std::string& text) {
  auto d = OptionalDuration(text, "--cancel-timeout");
  if (!d.ok()) return d.status();
  return d->value_or(ctx.options.timeout);
}

Status CheckPullFlags(const PullFlags& flags) {
  if (flags.no_pull && flags.with_pull) {
    return InvalidArgument("conflict: no-pull and with-pull are both set");
  }
  return OkStatus();
}

Status RunCreate(Context& ctx, const CreateFlags& flags, CLI::App* app) {
  if (flags.args.size() != 3) {
    ctx.out << app->help();
    return OkStatus();
  }
  BERTH_RETURN_IF_ERROR(CheckPullFlags(flags.pull));
  const bool with_pull =
      (!flags.pull.no_pull && ctx.options.config.pull_image_on_create.value_or(false)) ||
      flags.pull.with_pull;
  auto timeout = CancelTimeout(ctx, flags.pull.cancel_timeout);
  if (!timeout.ok()) return timeout.status();
  auto pod_id = ResolvePodId(ctx, flags.args[0]);
  if (!pod_id.ok()) return pod_id.status().Wrap("creating container");
  auto id =
      CreateContainer(ctx, *pod_id, flags.args[1], flags.args[2], flags.pull, with_pull, *timeout);
  if (!id.ok()) return id.status().Wrap("creating container");
  ctx.out << *id << "\n";
  return OkStatus();
}

Status RunRun(Context& ctx, const CreateFlags& flags, CLI::App* app) {
  if (flags.args.size() != 2) {
    ctx.out << app->help();
    return OkStatus();
  }
  BERTH_RETURN_IF_ERROR(CheckPullFlags(flags.pull));
  const bool with_pull =
      (!ctx.options.config.disable_pull_on_run.value_or(false) && !flags.pull.no_pull) ||
      flags.pull.with_pull;
  auto timeout = CancelTimeout(ctx, flags.pull.cancel_timeout);
  if (!timeout.ok()) return timeout.status();

  auto pod_config = LoadPodSandboxConfig(flags.args[1]);
  if (!pod_config.ok()) return pod_config.status().Wrap("running container: load podSandboxConfig");
  ::runtime::v1::RunPodSandboxRequest run;
  *run.mutable_config() = std::move(*pod_config);
  run.set_runtime_handler(flags.runtime);
  auto pod =
      ctx.connection.CallWithin(*timeout * 2, ctx.connection.Runtime(), &Stub::RunPodSandbox, run);
  if (!pod.ok()) return pod.status().Wrap("running container: run pod sandbox");

  auto id = CreateContainer(ctx, pod->pod_sandbox_id(), flags.args[0], flags.args[1], flags.pull,
                            with_pull, *timeout);
  if (!id.ok()) return id.status().Wrap("running container: creating container failed");
  Status started = StartContainer(ctx, *id, *id);
  if (!started.ok()) {
    return started.Wrap("running container: starting the container \"" + *id + "\"");
  }
  return OkStatus();
}

Status RunStart(Context& ctx, const IdsFlags& flags) {
  if (flags.ids.empty()) return InvalidArgument("ID cannot be empty");
  for (const std::string& arg : flags.ids) {
    auto id = ResolveContainerId(ctx, arg);
    Status s = id.ok() ? StartContainer(ctx, *id, arg) : id.status();
    if (!s.ok()) return s.Wrap("starting the container \"" + arg + "\"");
  }
  return OkStatus();
}

Result<std::vector<Container>> ListContainers(Context& ctx, const std::string& id,
                                              const std::string& pod, const std::string& state,
                                              bool all, const std::vector<std::string>& labels,
                                              const std::string& image,
                                              const ContainerListFilter& filter) {
  ::runtime::v1::ListContainersRequest request;
  auto* f = request.mutable_filter();
  if (!id.empty()) {
    auto resolved = ResolveContainerId(ctx, id);
    if (!resolved.ok()) return resolved.status();
    f->set_id(*resolved);
  }
  if (!pod.empty()) {
    auto resolved = ResolvePodId(ctx, pod);
    if (!resolved.ok()) return resolved.status();
    f->set_pod_sandbox_id(*resolved);
  }
  if (!all && state.empty()) f->mutable_state()->set_state(::runtime::v1::CONTAINER_RUNNING);
  if (!state.empty()) {
    auto s = ParseContainerState(state);
    if (!s.ok()) return s.status();
    f->mutable_state()->set_state(*s);
  }
  // --latest/--last look at containers in every state.
  if (filter.latest || filter.last > 0) f->clear_state();
  auto selector = ParseLabelSelector(labels);
  if (!selector.ok()) return selector.status();
  for (const auto& [k, v] : *selector) (*f->mutable_label_selector())[k] = v;
  auto response = ctx.connection.Call(ctx.connection.Runtime(), &Stub::ListContainers, request);
  if (!response.ok()) return response.status().Wrap("call list containers RPC");
  std::vector<Container> containers(response->containers().begin(), response->containers().end());
  if (!image.empty()) {
    // crictl's matchesImage: same image id as the --image reference.
    auto image_id = [&](const std::string& ref) -> Result<std::string> {
      ::runtime::v1::ImageStatusRequest r;
      r.mutable_image()->set_image(ref);
      auto s = ctx.connection.Call(ctx.connection.Image(),
                                   &::runtime::v1::ImageService::Stub::ImageStatus, r);
      if (!s.ok()) return s.status();
      return s->has_image() ? s->image().id() : std::string();
    };
    auto wanted = image_id(image);
    if (!wanted.ok()) return wanted.status().Wrap("check image match");
    std::vector<Container> kept;
    for (auto& c : containers) {
      auto have = image_id(c.image().image());
      if (!have.ok()) return have.status().Wrap("check image match");
      if (!wanted->empty() && *wanted == *have) kept.push_back(std::move(c));
    }
    containers = std::move(kept);
  }
  return SelectContainers(std::move(containers), filter);
}

Status RunStop(Context& ctx, const IdsFlags& flags) {
  if (flags.all && !flags.ids.empty()) {
    return InvalidArgument("cannot specify CONTAINER-ID(s) when using --all");
  }
  std::vector<std::string> ids = flags.ids;
  if (flags.all) {
    auto listed = ListContainers(ctx, "", "", "running", false, {}, "", {});
    if (!listed.ok()) return listed.status().Wrap("listing containers");
    if (listed->empty()) {
      ctx.out << "No running containers found.\n";
      return OkStatus();
    }
    for (const auto& c : *listed) ids.push_back(c.id());
  } else if (ids.empty()) {
    return InvalidArgument("you must specify at least one CONTAINER-ID or use --all");
  }
  for (const std::string& arg : ids) {
    auto id = ResolveContainerId(ctx, arg);
    Status s = id.ok() ? StopContainer(ctx, *id, arg, flags.timeout) : id.status();
    if (!s.ok()) return s.Wrap("stopping the container \"" + arg + "\"");
  }
  return OkStatus();
}

// crictl removes the log file and its rotations (path.*) after removing a container.
void RemoveLogs(Context& ctx, const std::string& path, const std::string& id) {
  std::vector<std::string> files;
  glob_t g{};
  if (::glob((path + ".*").c_str(), 0, nullptr, &g) == 0) {
    for (size_t i = 0; i < g.gl_pathc; ++i) files.emplace_back(g.gl_pathv[i]);
  }
  ::globfree(&g);
  files.push_back(path);
  for (const std::string& f : files) {
    // The runtime may have removed it already; only other failures are worth a word.
    if (std::remove(f.c_str()) != 0 && errno != ENOENT) {
      ctx.err << "berthctl: removing log file " << f << " for container \"" << id
              << "\" failed: " << std::strerror(errno) << "\n";
    }
  }
}

Status RunRm(Context& ctx, const IdsFlags& flags, CLI::App* app) {
  std::vector<std::string> ids = flags.ids;
  if (flags.all) {
    auto listed = ctx.connection.Call(ctx.connection.Runtime(), &Stub::ListContainers,
                                      ::runtime::v1::ListContainersRequest());
    if (!listed.ok()) return listed.status();
    ids.clear();
    for (const auto& c : listed->containers()) ids.push_back(c.id());
  }
  if (ids.empty()) {
    if (flags.all) {
      ctx.err << "No containers to remove\n";
      return OkStatus();
    }
    ctx.out << app->help();
    return OkStatus();
  }
  std::vector<Status> errors;
  for (const std::string& arg : ids) {
    auto id = ResolveContainerId(ctx, arg);
    if (!id.ok()) {
      errors.push_back(id.status().Wrap("getting container status \"" + arg + "\""));
      continue;
    }
    ::runtime::v1::ContainerStatusRequest status_request;
    status_request.set_container_id(*id);
    auto status =
        ctx.connection.Call(ctx.connection.Runtime(), &Stub::ContainerStatus, status_request);
    if (!status.ok()) {
      errors.push_back(status.status().Wrap("getting container status \"" + arg + "\""));
      continue;
    }
    if (status->status().state() == ::runtime::v1::CONTAINER_RUNNING) {
      if (!flags.force) {
        errors.push_back(
            FailedPrecondition("container \"" + arg + "\" is running, please stop it first"));
        continue;
      }
      Status stopped = StopContainer(ctx, *id, arg, 0);
      if (!stopped.ok()) {
        errors.push_back(stopped.Wrap("stopping the container \"" + arg + "\""));
        continue;
      }
    }
    ::runtime::v1::RemoveContainerRequest request;
    request.set_container_id(*id);
    auto removed = ctx.connection.Call(ctx.connection.Runtime(), &Stub::RemoveContainer, request);
    if (!removed.ok()) {
      errors.push_back(removed.status().Wrap("removing container \"" + arg + "\""));
      continue;
    }
    ctx.out << arg << "\n";
    if (!flags.keep_logs && !status->status().log_path().empty()) {
      RemoveLogs(ctx, status->status().log_path(), arg);
    }
  }
  return AggregateErrors(errors);
}

Status RunPs(Context& ctx, const ListFlags& flags, CLI::App* app) {
  if (!flags.extra.empty()) {
    ctx.out << app->help();
    return OkStatus();
  }
  auto format = ParseOutputFormat(flags.output,
                                  {OutputFormat::kJson, OutputFormat::kYaml, OutputFormat::kTable});
  if (!format.ok()) return format.status().Wrap("listing containers");
  ContainerListFilter filter{flags.name, flags.namespace_, flags.latest, flags.last};
  auto containers = ListContainers(ctx, flags.id, flags.pod, flags.state, flags.all, flags.labels,
                                   flags.image, filter);
  if (!containers.ok()) return containers.status().Wrap("listing containers");
  if (*format != OutputFormat::kTable) {
    ::runtime::v1::ListContainersResponse response;
    for (auto& c : *containers) *response.add_containers() = std::move(c);
    auto json = MessageToJson(response);
    if (!json.ok()) return json.status();
    ctx.out << FormatStructured(*json, *format);
    return OkStatus();
  }
  if (flags.quiet) {
    for (const auto& c : *containers) ctx.out << c.id() << "\n";
    return OkStatus();
  }
  const auto now = std::chrono::system_clock::now();
  if (flags.verbose) {
    ctx.out << FormatContainersVerbose(*containers, now);
    return OkStatus();
  }
  if (flags.resolve_image_path) {
    // -r: the image's first repo tag instead of what the container was created with.
    for (auto& c : *containers) {
      ::runtime::v1::ImageStatusRequest r;
      r.mutable_image()->set_image(c.image().image());
      auto s = ctx.connection.Call(ctx.connection.Image(),
                                   &::runtime::v1::ImageService::Stub::ImageStatus, r);
      if (!s.ok()) return s.status().Wrap("listing containers: failed to fetch repo image");
      if (s->image().repo_tags_size() > 0) c.mutable_image()->set_image(s->image().repo_tags(0));
    }
  }
  ctx.out << FormatContainersTable(*containers, flags.no_trunc, now);
  return OkStatus();
}

Status RunInspect(Context& ctx, const InspectFlags& flags, CLI::App* app) {
  auto format = ParseOutputFormat(flags.output.empty() ? "json" : flags.output,
                                  {OutputFormat::kJson, OutputFormat::kYaml, OutputFormat::kTable});
  if (!format.ok()) return format.status();
  std::vector<std::string> ids = flags.ids;
  if (ids.empty()) {
    ContainerListFilter filter{flags.name, flags.namespace_, flags.latest, flags.last};
    auto containers = ListContainers(ctx, "", flags.pod, flags.state, flags.all, flags.labels,
                                     flags.image, filter);
    if (!containers.ok()) return containers.status().Wrap("listing containers");
    for (const auto& c : *containers) ids.push_back(c.id());
  }
  if (ids.empty()) {
    ctx.err << "No IDs provided or nothing found per filter\n";
    ctx.out << app->help();
    return OkStatus();
  }
  const bool verbose = !flags.quiet;
  const auto now = std::chrono::system_clock::now();
  std::vector<nlohmann::json> statuses;
  for (const std::string& arg : ids) {
    auto id = ResolveContainerId(ctx, arg);
    if (!id.ok()) return id.status().Wrap("get the status of containers");
    ::runtime::v1::ContainerStatusRequest request;
    request.set_container_id(*id);
    request.set_verbose(verbose);
    auto r = ctx.connection.Call(ctx.connection.Runtime(), &Stub::ContainerStatus, request);
    if (!r.ok()) return r.status().Wrap("get the status of containers: get container status");
    if (*format == OutputFormat::kTable) {
      ctx.out << FormatContainerStatusTable(*r, verbose, now);
      continue;
    }
    auto status = ContainerStatusJson(r->status());
    if (!status.ok()) return status.status().Wrap("marshal container status");
    auto entry = StatusDataJson(*status, r->info());
    if (!entry.ok()) return entry.status();
    statuses.push_back(std::move(*entry));
  }
  if (!statuses.empty()) ctx.out << FormatStructured(StatusDataList(std::move(statuses)), *format);
  return OkStatus();
}

Status RunUpdate(Context& ctx, const UpdateFlags& flags) {
  if (flags.ids.empty()) return InvalidArgument("ID cannot be empty");
  for (const std::string& arg : flags.ids) {
    auto id = ResolveContainerId(ctx, arg);
    if (!id.ok()) return id.status().Wrap("updating container resources for \"" + arg + "\"");
    ::runtime::v1::UpdateContainerResourcesRequest request;
    request.set_container_id(*id);
    auto* linux = request.mutable_linux();
    linux->set_cpu_period(flags.cpu_period);
    linux->set_cpu_quota(flags.cpu_quota);
    linux->set_cpu_shares(flags.cpu_shares);
    linux->set_memory_limit_in_bytes(flags.memory);
    linux->set_oom_score_adj(flags.oom_score_adj);
    linux->set_cpuset_cpus(flags.cpuset_cpus);
    linux->set_cpuset_mems(flags.cpuset_mems);
    auto r =
        ctx.connection.Call(ctx.connection.Runtime(), &Stub::UpdateContainerResources, request);
    if (!r.ok()) return r.status().Wrap("updating container resources for \"" + arg + "\"");
    ctx.out << arg << "\n";
  }
  return OkStatus();
}

void AddPullFlags(CLI::App* app, PullFlags& f, bool run) {
  app->add_flag("--no-pull", f.no_pull,
                run ? "Do not pull the image (overrides disable-pull-on-run=false in config)"
                    : "Do not pull the image on container creation (overrides "
                      "pull-image-on-create=true in config)");
  app->add_flag("--with-pull", f.with_pull,
                run ? "Pull the image (overrides disable-pull-on-run=true in config)"
                    : "Pull the image on container creation (overrides pull-image-on-create=false "
                      "in config)");
  app->add_option("--creds", f.creds, "Use USERNAME[:PASSWORD] for accessing the registry");
  app->add_option("--auth", f.auth,
                  "Use AUTH_STRING for accessing the registry. AUTH_STRING is a base64 encoded "
                  "'USERNAME[:PASSWORD]'");
  app->add_option("--username", f.username,
                  "Use USERNAME for accessing the registry. The password will be requested on "
                  "the command line");
  app->add_option("-T,--cancel-timeout", f.cancel_timeout,
                  "Seconds to wait for a container create request to complete before cancelling "
                  "the request");
  f.pull_timeout_opt =
      app->add_option("--pull-timeout,--pt", f.pull_timeout,
                      "Maximum time to be used for pulling the image, disabled if set to 0s [env: "
                      "CRICTL_PULL_TIMEOUT]");
}

void AddContainerFilterFlags(CLI::App* app, std::string& name, std::string& ns, std::string& pod,
                             std::string& image, std::string& state,
                             std::vector<std::string>& labels, bool& latest, int& last, bool& all) {
  app->add_option("--name", name, "Filter by container name regular expression pattern");
  app->add_option("--namespace", ns, "Filter by pod namespace regular expression pattern");
  app->add_option("-p,--pod", pod, "Filter by pod id");
  app->add_option("--image", image, "Filter by container image");
  app->add_option("-s,--state", state, "Filter by container state");
  app->add_option("--label", labels, "Filter by key=value label")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app->add_flag("-l,--latest", latest,
                "Show the most recently created container (includes all states)");
  app->add_option("-n,--last", last,
                  "Show last n recently created containers (includes all states). Set 0 for "
                  "unlimited.");
  app->add_flag("-a,--all", all, "Show all containers");
}

}  // namespace

bool IsDigest(const std::string& image) {
  size_t colon = image.find(':');
  if (colon == std::string::npos) return false;
  const std::string algorithm = image.substr(0, colon);
  const std::string hex = image.substr(colon + 1);
  size_t want = algorithm == "sha256"   ? 64
                : algorithm == "sha384" ? 96
                : algorithm == "sha512" ? 128
                                        : 0;
  if (want == 0 || hex.size() != want) return false;
  return hex.find_first_not_of("0123456789abcdef") == std::string::npos;
}

std::vector<Container> SelectContainers(std::vector<Container> containers,
                                        const ContainerListFilter& filter) {
  std::vector<Container> out;
  for (auto& c : containers) {
    if (!c.has_metadata()) continue;
    if (MatchesRegex(filter.name_regexp, c.metadata().name()) &&
        MatchesRegex(filter.namespace_regexp, LabelOrUnknown(c.labels(), kPodNamespaceLabel))) {
      out.push_back(std::move(c));
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const Container& a, const Container& b) {
    return a.created_at() > b.created_at();
  });
  size_t n = out.size();
  if (filter.latest) n = 1;
  if (filter.last > 0) n = static_cast<size_t>(filter.last);
  if (n < out.size()) out.resize(n);
  return out;
}

std::string FormatContainersTable(const std::vector<Container>& containers, bool no_trunc,
                                  std::chrono::system_clock::time_point now) {
  Table table(
      {"CONTAINER", "IMAGE", "CREATED", "STATE", "NAME", "ATTEMPT", "POD ID", "POD", "NAMESPACE"});
  for (const auto& c : containers) {
    std::string id = c.id(), pod_id = c.pod_sandbox_id(), image = c.image().image();
    if (!no_trunc) {
      id = TruncateId(id, "");
      pod_id = TruncateId(pod_id, "");
      if (IsDigest(image)) image = TruncateId(image, image.substr(0, image.find(':') + 1));
    }
    table.AddRow({id, image, Ago(c.created_at(), now), ContainerStateName(c.state()),
                  c.metadata().name(), std::to_string(c.metadata().attempt()), pod_id,
                  LabelOrUnknown(c.labels(), kPodNameLabel),
                  LabelOrUnknown(c.labels(), kPodNamespaceLabel)});
  }
  return table.Render();
}

std::string FormatContainersVerbose(const std::vector<Container>& containers,
                                    std::chrono::system_clock::time_point now) {
  std::string out;
  for (const auto& c : containers) {
    out += "ID: " + c.id() + "\n";
    out += "PodID: " + c.pod_sandbox_id() + "\n";
    out += "Namespace: " + LabelOrUnknown(c.labels(), kPodNamespaceLabel) + "\n";
    if (c.has_metadata()) {
      if (!c.metadata().name().empty()) out += "Name: " + c.metadata().name() + "\n";
      out += "Attempt: " + std::to_string(c.metadata().attempt()) + "\n";
    }
    out += "State: " + ContainerStateName(c.state()) + "\n";
    if (c.has_image()) out += "Image: " + c.image().image() + "\n";
    out += "Created: " + Ago(c.created_at(), now) + "\n";
    out += KeyValueBlock("Labels", c.labels());
    out += KeyValueBlock("Annotations", c.annotations());
    out += "\n";
  }
  return out;
}

std::string FormatContainerStatusTable(const ::runtime::v1::ContainerStatusResponse& r,
                                       bool verbose, std::chrono::system_clock::time_point now) {
  const auto& s = r.status();
  std::string out = "ID: " + s.id() + "\n";
  if (s.has_metadata()) {
    if (!s.metadata().name().empty()) out += "Name: " + s.metadata().name() + "\n";
    if (s.metadata().attempt() != 0) {
      out += "Attempt: " + std::to_string(s.metadata().attempt()) + "\n";
    }
  }
  out += "State: " + ::runtime::v1::ContainerState_Name(s.state()) + "\n";
  out += "Created: " + Ago(s.created_at(), now) + "\n";
  if (s.state() != ::runtime::v1::CONTAINER_CREATED) {
    out += "Started: " + Ago(s.started_at(), now) + "\n";
  }
  if (s.state() == ::runtime::v1::CONTAINER_EXITED) {
    if (s.finished_at() > 0) out += "Finished: " + Ago(s.finished_at(), now) + "\n";
    out += "Exit Code: " + std::to_string(s.exit_code()) + "\n";
  }
  out += KeyValueBlock("Labels", s.labels());
  out += KeyValueBlock("Annotations", s.annotations());
  if (verbose) out += "Info: " + GoMapString(r.info()) + "\n";
  return out;
}

void AddContainersCommands(CLI::App& root, CommandList& commands) {
  {
    auto flags = std::make_shared<CreateFlags>();
    CLI::App* app = root.add_subcommand("create", "Create a new container");
    app->add_option("args", flags->args, "POD container-config.[json|yaml] pod-config.[json|yaml]");
    AddPullFlags(app, flags->pull, /*run=*/false);
    commands.push_back({app, [flags, app](Context& ctx) { return RunCreate(ctx, *flags, app); }});
  }
  {
    auto flags = std::make_shared<IdsFlags>();
    CLI::App* app = root.add_subcommand("start", "Start one or more created containers");
    app->add_option("container-id", flags->ids, "CONTAINER-ID [CONTAINER-ID...]");
    commands.push_back({app, [flags](Context& ctx) { return RunStart(ctx, *flags); }});
  }
  {
    auto flags = std::make_shared<CreateFlags>();
    CLI::App* app = root.add_subcommand("run", "Run a new container inside a sandbox");
    app->add_option("args", flags->args, "container-config.[json|yaml] pod-config.[json|yaml]");
    AddPullFlags(app, flags->pull, /*run=*/true);
    app->add_option("-r,--runtime", flags->runtime,
                    "Runtime handler to use. Available options are defined by the container "
                    "runtime.");
    commands.push_back({app, [flags, app](Context& ctx) { return RunRun(ctx, *flags, app); }});
  }
  {
    auto flags = std::make_shared<IdsFlags>();
    CLI::App* app = root.add_subcommand("stop", "Stop one or more running containers");
    app->add_option("container-id", flags->ids, "CONTAINER-ID [CONTAINER-ID...]");
    app->add_option("-t,--timeout", flags->timeout,
                    "Seconds to wait to kill the container after a graceful stop is requested");
    app->add_flag("-a,--all", flags->all, "Stop all running containers");
    commands.push_back({app, [flags](Context& ctx) { return RunStop(ctx, *flags); }});
  }
  {
    auto flags = std::make_shared<IdsFlags>();
    CLI::App* app = root.add_subcommand("rm", "Remove one or more containers");
    app->add_option("container-id", flags->ids, "CONTAINER-ID [CONTAINER-ID...]");
    app->add_flag("-f,--force", flags->force,
                  "Force removal of the container, disregarding if running");
    app->add_flag("-k,--keep-logs", flags->keep_logs,
                  "Preserve the container log file and its rotations");
    app->add_flag("-a,--all", flags->all, "Remove all containers");
    commands.push_back({app, [flags, app](Context& ctx) { return RunRm(ctx, *flags, app); }});
  }
  {
    auto flags = std::make_shared<ListFlags>();
    CLI::App* app = root.add_subcommand("ps", "List containers");
    app->add_option("args", flags->extra, "")->group("");  // any: crictl prints the help
    app->add_flag("-v,--verbose", flags->verbose, "Show verbose information for containers");
    app->add_option("--id", flags->id, "Filter by container id");
    AddContainerFilterFlags(app, flags->name, flags->namespace_, flags->pod, flags->image,
                            flags->state, flags->labels, flags->latest, flags->last, flags->all);
    app->add_flag("-q,--quiet", flags->quiet, "Only display container IDs");
    app->add_option("-o,--output", flags->output, "Output format, One of: json|yaml|table")
        ->capture_default_str();
    app->add_flag("--no-trunc", flags->no_trunc, "Show output without truncating the ID");
    app->add_flag("-r,--resolve-image-path", flags->resolve_image_path,
                  "Show image path instead of image id");
    commands.push_back({app, [flags, app](Context& ctx) { return RunPs(ctx, *flags, app); }});
  }
  {
    auto flags = std::make_shared<InspectFlags>();
    CLI::App* app = root.add_subcommand("inspect", "Display the status of one or more containers");
    app->add_option("container-id", flags->ids, "CONTAINER-ID [CONTAINER-ID...]");
    app->add_option("-o,--output", flags->output, "Output format, One of: json|yaml|table");
    app->add_flag("-q,--quiet", flags->quiet, "Do not show verbose information");
    AddContainerFilterFlags(app, flags->name, flags->namespace_, flags->pod, flags->image,
                            flags->state, flags->labels, flags->latest, flags->last, flags->all);
    commands.push_back({app, [flags, app](Context& ctx) { return RunInspect(ctx, *flags, app); }});
  }
  {
    auto flags = std::make_shared<UpdateFlags>();
    CLI::App* app = root.add_subcommand("update", "Update one or more running containers");
    app->add_option("container-id", flags->ids, "CONTAINER-ID [CONTAINER-ID...]");
    app->add_option("--cpu-period", flags->cpu_period,
                    "CPU CFS period to be used for hardcapping (in usecs). 0 to use system "
                    "default");
    app->add_option("--cpu-quota", flags->cpu_quota,
                    "CPU CFS hardcap limit (in usecs). Allowed cpu time in a given period");
    app->add_option("--cpu-share,--cpu-shares", flags->cpu_shares,
                    "CPU shares (relative weight vs. other containers)");
    app->add_option("--memory", flags->memory, "Memory limit (in bytes)");
    app->add_option("--cpuset-cpus", flags->cpuset_cpus, "CPU(s) to use");
    app->add_option("--cpuset-mems", flags->cpuset_mems, "Memory node(s) to use");
    app->add_option("--oom-score-adj", flags->oom_score_adj, "OOM Killer score to use");
    commands.push_back({app, [flags](Context& ctx) { return RunUpdate(ctx, *flags); }});
  }
}

}  // namespace berth::cli
