#include "cli/verbs/pods.h"

#include <algorithm>
#include <memory>

#include "cli/duration.h"
#include "cli/input/pod_config.h"
#include "cli/output/format.h"
#include "cli/output/table.h"
#include "cli/verbs/cri_util.h"
#include "cli/verbs/image_util.h"

namespace berth::cli {
namespace {

using ::runtime::v1::PodSandbox;
using Stub = ::runtime::v1::RuntimeService::Stub;

struct RunpFlags {
  std::vector<std::string> args;
  std::string runtime, cancel_timeout;
};

struct IdsFlags {
  std::vector<std::string> ids;
  bool force = false, all = false;
};

struct PodsFlags {
  std::string id, name, namespace_, state, output = "table";
  std::vector<std::string> labels;
  bool verbose = false, quiet = false, latest = false, no_trunc = false;
  int last = 0;
};

struct InspectpFlags {
  std::vector<std::string> ids;
  std::string output, name, namespace_, state;
  std::vector<std::string> labels;
  bool quiet = false, latest = false;
  int last = 0;
};

// ListPodSandbox with crictl's server-side filters, then its client-side ones.
Result<std::vector<PodSandbox>> ListPods(Context& ctx, const std::string& id,
                                         const std::string& state,
                                         const std::vector<std::string>& labels,
                                         const PodListFilter& filter) {
  ::runtime::v1::ListPodSandboxRequest request;
  auto* f = request.mutable_filter();
  if (!id.empty()) {
    auto resolved = ResolvePodId(ctx, id);
    if (!resolved.ok()) return resolved.status();
    f->set_id(*resolved);
  }
  if (!state.empty()) {
    auto s = ParsePodState(state);
    if (!s.ok()) return s.status();
    f->mutable_state()->set_state(*s);
  }
  auto selector = ParseLabelSelector(labels);
  if (!selector.ok()) return selector.status();
  for (const auto& [k, v] : *selector) (*f->mutable_label_selector())[k] = v;
  auto response = ctx.connection.Call(ctx.connection.Runtime(), &Stub::ListPodSandbox, request);
  if (!response.ok()) return response.status().Wrap("call list sandboxes RPC");
  return SelectPods({response->items().begin(), response->items().end()}, filter);
}

Status StopPod(Context& ctx, const std::string& id, const std::string& shown) {
  ::runtime::v1::StopPodSandboxRequest request;
  request.set_pod_sandbox_id(id);
  auto r = ctx.connection.Call(ctx.connection.Runtime(), &Stub::StopPodSandbox, request);
  if (!r.ok()) return r.status();
  ctx.out << "Stopped sandbox " << shown << "\n";
  return OkStatus();
}

Status RunRunp(Context& ctx, const RunpFlags& flags, CLI::App* app) {
  if (flags.args.size() != 1 || flags.args.front().empty()) {
    ctx.out << app->help();
    return OkStatus();
  }
  std::chrono::nanoseconds timeout = ctx.options.timeout * 2;  // as cri-client: sandboxes get 2x
  if (!flags.cancel_timeout.empty()) {
    auto d = ParseDuration(flags.cancel_timeout);
    if (!d.ok()) return d.status().Wrap("--cancel-timeout");
    if (d->count() > 0) timeout = *d * 2;
  }
  auto config = LoadPodSandboxConfig(flags.args.front());
  if (!config.ok()) return config.status().Wrap("load podSandboxConfig");
  ::runtime::v1::RunPodSandboxRequest request;
  *request.mutable_config() = std::move(*config);
  request.set_runtime_handler(flags.runtime);
  auto r =
      ctx.connection.CallWithin(timeout, ctx.connection.Runtime(), &Stub::RunPodSandbox, request);
  if (!r.ok()) return r.status().Wrap("run pod sandbox");
  ctx.out << r->pod_sandbox_id() << "\n";
  return OkStatus();
}

Status RunStopp(Context& ctx, const IdsFlags& flags, CLI::App* app) {
  if (flags.ids.empty()) {
    ctx.out << app->help();
    return OkStatus();
  }
  for (const std::string& arg : flags.ids) {
    auto id = ResolvePodId(ctx, arg);
    Status s = id.ok() ? StopPod(ctx, *id, arg) : id.status();
    if (!s.ok()) return s.Wrap("stopping the pod sandbox \"" + arg + "\"");
  }
  return OkStatus();
}

Status RunRmp(Context& ctx, const IdsFlags& flags, CLI::App* app) {
  std::vector<std::string> ids = flags.ids;
  if (flags.all) {
    auto listed = ctx.connection.Call(ctx.connection.Runtime(), &Stub::ListPodSandbox,
                                      ::runtime::v1::ListPodSandboxRequest());
    if (!listed.ok()) return listed.status();
    ids.clear();
    for (const auto& p : listed->items()) ids.push_back(p.id());
  }
  if (ids.empty()) {
    if (flags.all) {
      ctx.err << "No pods to remove\n";
      return OkStatus();
    }
    ctx.out << app->help();
    return OkStatus();
  }
  std::vector<Status> errors;
  for (const std::string& arg : ids) {
    auto id = ResolvePodId(ctx, arg);
    if (!id.ok()) {
      errors.push_back(id.status().Wrap("getting sandbox status of pod \"" + arg + "\""));
      continue;
    }
    ::runtime::v1::PodSandboxStatusRequest status_request;
    status_request.set_pod_sandbox_id(*id);
    auto status =
        ctx.connection.Call(ctx.connection.Runtime(), &Stub::PodSandboxStatus, status_request);
    if (!status.ok()) {
      errors.push_back(status.status().Wrap("getting sandbox status of pod \"" + arg + "\""));
      continue;
    }
    if (status->status().state() == ::runtime::v1::SANDBOX_READY) {
      if (!flags.force) {
        errors.push_back(
            FailedPrecondition("pod sandbox \"" + arg + "\" is running, please stop it first"));
        continue;
      }
      Status stopped = StopPod(ctx, *id, arg);
      if (!stopped.ok()) {
        errors.push_back(stopped.Wrap("stopping the pod sandbox \"" + arg + "\" failed"));
        continue;
      }
    }
    ::runtime::v1::RemovePodSandboxRequest request;
    request.set_pod_sandbox_id(*id);
    auto removed = ctx.connection.Call(ctx.connection.Runtime(), &Stub::RemovePodSandbox, request);
    if (!removed.ok()) {
      errors.push_back(removed.status().Wrap("removing the pod sandbox \"" + arg + "\""));
      continue;
    }
    ctx.out << "Removed sandbox " << arg << "\n";
  }
  return AggregateErrors(errors);
}

Status RunPods(Context& ctx, const PodsFlags& flags) {
  auto format = ParseOutputFormat(flags.output,
                                  {OutputFormat::kJson, OutputFormat::kYaml, OutputFormat::kTable});
  if (!format.ok()) return format.status().Wrap("listing pod sandboxes");
  PodListFilter filter{flags.name, flags.namespace_, flags.latest, flags.last};
  auto pods = ListPods(ctx, flags.id, flags.state, flags.labels, filter);
  if (!pods.ok()) return pods.status().Wrap("listing pod sandboxes");
  if (*format != OutputFormat::kTable) {
    ::runtime::v1::ListPodSandboxResponse response;
    for (auto& p : *pods) *response.add_items() = std::move(p);
    auto json = MessageToJson(response);
    if (!json.ok()) return json.status();
    ctx.out << FormatStructured(*json, *format);
    return OkStatus();
  }
  if (flags.quiet) {
    for (const auto& p : *pods) ctx.out << p.id() << "\n";
    return OkStatus();
  }
  if (flags.verbose) {
    ctx.out << FormatPodsVerbose(*pods);
    return OkStatus();
  }
  ctx.out << FormatPodsTable(*pods, flags.no_trunc, std::chrono::system_clock::now());
  return OkStatus();
}

Status RunInspectp(Context& ctx, const InspectpFlags& flags, CLI::App* app) {
  auto format = ParseOutputFormat(flags.output.empty() ? "json" : flags.output,
                                  {OutputFormat::kJson, OutputFormat::kYaml, OutputFormat::kTable});
  if (!format.ok()) return format.status();
  std::vector<std::string> ids = flags.ids;
  if (ids.empty()) {
    PodListFilter filter{flags.name, flags.namespace_, flags.latest, flags.last};
    auto pods = ListPods(ctx, "", flags.state, flags.labels, filter);
    if (!pods.ok()) return pods.status().Wrap("listing pod sandboxes");
    for (const auto& p : *pods) ids.push_back(p.id());
  }
  if (ids.empty()) {
    ctx.err << "No IDs provided or nothing found per filter\n";
    ctx.out << app->help();
    return OkStatus();
  }
  const bool verbose = !flags.quiet;
  std::vector<nlohmann::json> statuses;
  for (const std::string& arg : ids) {
    auto id = ResolvePodId(ctx, arg);
    if (!id.ok()) return id.status().Wrap("get the status of pod sandboxes");
    ::runtime::v1::PodSandboxStatusRequest request;
    request.set_pod_sandbox_id(*id);
    request.set_verbose(verbose);
    auto r = ctx.connection.Call(ctx.connection.Runtime(), &Stub::PodSandboxStatus, request);
    if (!r.ok()) return r.status().Wrap("get the status of pod sandboxes: get pod sandbox status");
    if (*format == OutputFormat::kTable) {
      ctx.out << FormatPodStatusTable(*r, verbose);
      continue;
    }
    auto status = PodStatusJson(r->status());
    if (!status.ok()) return status.status().Wrap("marshal pod sandbox status");
    auto entry = StatusDataJson(*status, r->info());
    if (!entry.ok()) return entry.status();
    statuses.push_back(std::move(*entry));
  }
  if (!statuses.empty()) ctx.out << FormatStructured(StatusDataList(std::move(statuses)), *format);
  return OkStatus();
}

void AddListFilterFlags(CLI::App* app, std::string& name, std::string& ns, std::string& state,
                        std::vector<std::string>& labels, bool& latest, int& last) {
  app->add_option("--name", name, "Filter by pod name regular expression pattern");
  app->add_option("--namespace", ns, "Filter by pod namespace regular expression pattern");
  app->add_option("-s,--state", state, "Filter by pod state");
  app->add_option("--label", labels, "Filter by key=value label")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app->add_flag("-l,--latest", latest, "Show the most recently created pod");
  app->add_option("-n,--last", last, "Show last n recently created pods. Set 0 for unlimited");
}

}  // namespace

std::vector<PodSandbox> SelectPods(std::vector<PodSandbox> pods, const PodListFilter& filter) {
  std::vector<PodSandbox> out;
  for (auto& p : pods) {
    if (!p.has_metadata()) continue;
    if (MatchesRegex(filter.name_regexp, p.metadata().name()) &&
        MatchesRegex(filter.namespace_regexp, p.metadata().namespace_())) {
      out.push_back(std::move(p));
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const PodSandbox& a, const PodSandbox& b) {
    return a.created_at() > b.created_at();
  });
  size_t n = out.size();
  if (filter.latest) n = 1;
  if (filter.last > 0) n = static_cast<size_t>(filter.last);
  if (n < out.size()) out.resize(n);
  return out;
}

std::string FormatPodsTable(const std::vector<PodSandbox>& pods, bool no_trunc,
                            std::chrono::system_clock::time_point now) {
  Table table({"POD ID", "CREATED", "STATE", "NAME", "NAMESPACE", "ATTEMPT", "RUNTIME"});
  for (const auto& p : pods) {
    table.AddRow({no_trunc ? p.id() : TruncateId(p.id(), ""), Ago(p.created_at(), now),
                  PodStateName(p.state()), p.metadata().name(), p.metadata().namespace_(),
                  std::to_string(p.metadata().attempt()),
                  p.runtime_handler().empty() ? "(default)" : p.runtime_handler()});
  }
  return table.Render();
}

std::string FormatPodsVerbose(const std::vector<PodSandbox>& pods) {
  std::string out;
  for (const auto& p : pods) {
    out += "ID: " + p.id() + "\n";
    if (p.has_metadata()) {
      const auto& m = p.metadata();
      if (!m.name().empty()) out += "Name: " + m.name() + "\n";
      if (!m.uid().empty()) out += "UID: " + m.uid() + "\n";
      if (!m.namespace_().empty()) out += "Namespace: " + m.namespace_() + "\n";
      if (m.attempt() != 0) out += "Attempt: " + std::to_string(m.attempt()) + "\n";
    }
    out += "Status: " + PodStateName(p.state()) + "\n";
    out += "Created: " + FormatGoTime(p.created_at()) + "\n";
    out += KeyValueBlock("Labels", p.labels());
    out += KeyValueBlock("Annotations", p.annotations());
    out += "Runtime: " +
           (p.runtime_handler().empty() ? std::string("(default)") : p.runtime_handler()) + "\n\n";
  }
  return out;
}

std::string FormatPodStatusTable(const ::runtime::v1::PodSandboxStatusResponse& r, bool verbose) {
  const auto& s = r.status();
  std::string out = "ID: " + s.id() + "\n";
  if (s.has_metadata()) {
    const auto& m = s.metadata();
    if (!m.name().empty()) out += "Name: " + m.name() + "\n";
    if (!m.uid().empty()) out += "UID: " + m.uid() + "\n";
    if (!m.namespace_().empty()) out += "Namespace: " + m.namespace_() + "\n";
    out += "Attempt: " + std::to_string(m.attempt()) + "\n";
  }
  out += "Status: " + ::runtime::v1::PodSandboxState_Name(s.state()) + "\n";
  out += "Created: " + FormatGoTime(s.created_at()) + "\n";
  if (s.has_network()) {
    out += "IP Addresses: " + s.network().ip() + "\n";
    for (const auto& ip : s.network().additional_ips()) out += "Additional IP: " + ip.ip() + "\n";
  }
  out += KeyValueBlock("Labels", s.labels());
  out += KeyValueBlock("Annotations", s.annotations());
  if (verbose) out += "Info: " + GoMapString(r.info()) + "\n";
  return out;
}

void AddPodsCommands(CLI::App& root, CommandList& commands) {
  {
    auto flags = std::make_shared<RunpFlags>();
    CLI::App* app = root.add_subcommand("runp", "Run a new pod");
    app->add_option("pod-config", flags->args, "pod-config.[json|yaml]");
    app->add_option("-r,--runtime", flags->runtime,
                    "Runtime handler to use. Available options are defined by the container "
                    "runtime.");
    app->add_option("-T,--cancel-timeout", flags->cancel_timeout,
                    "Seconds to wait for a run pod sandbox request to complete before cancelling "
                    "the request");
    commands.push_back({app, [flags, app](Context& ctx) { return RunRunp(ctx, *flags, app); }});
  }
  {
    auto flags = std::make_shared<IdsFlags>();
    CLI::App* app = root.add_subcommand("stopp", "Stop one or more running pods");
    app->add_option("pod-id", flags->ids, "POD-ID [POD-ID...]");
    commands.push_back({app, [flags, app](Context& ctx) { return RunStopp(ctx, *flags, app); }});
  }
  {
    auto flags = std::make_shared<IdsFlags>();
    CLI::App* app = root.add_subcommand("rmp", "Remove one or more pods");
    app->add_option("pod-id", flags->ids, "POD-ID [POD-ID...]");
    app->add_flag("-f,--force", flags->force,
                  "Force removal of the pod sandbox, disregarding if running");
    app->add_flag("-a,--all", flags->all, "Remove all pods");
    commands.push_back({app, [flags, app](Context& ctx) { return RunRmp(ctx, *flags, app); }});
  }
  {
    auto flags = std::make_shared<PodsFlags>();
    CLI::App* app = root.add_subcommand("pods", "List pods");
    app->add_option("--id", flags->id, "filter by pod id");
    AddListFilterFlags(app, flags->name, flags->namespace_, flags->state, flags->labels,
                       flags->latest, flags->last);
    app->add_flag("-v,--verbose", flags->verbose, "Show verbose info for pods");
    app->add_flag("-q,--quiet", flags->quiet, "List only pod IDs");
    app->add_option("-o,--output", flags->output, "Output format, One of: json|yaml|table")
        ->capture_default_str();
    app->add_flag("--no-trunc", flags->no_trunc, "Show output without truncating the ID");
    commands.push_back({app, [flags](Context& ctx) { return RunPods(ctx, *flags); }});
  }
  {
    auto flags = std::make_shared<InspectpFlags>();
    CLI::App* app = root.add_subcommand("inspectp", "Display the status of one or more pods");
    app->add_option("pod-id", flags->ids, "POD-ID [POD-ID...]");
    app->add_option("-o,--output", flags->output, "Output format, One of: json|yaml|table");
    app->add_flag("-q,--quiet", flags->quiet, "Do not show verbose information");
    AddListFilterFlags(app, flags->name, flags->namespace_, flags->state, flags->labels,
                       flags->latest, flags->last);
    commands.push_back({app, [flags, app](Context& ctx) { return RunInspectp(ctx, *flags, app); }});
  }
}

}  // namespace berth::cli
