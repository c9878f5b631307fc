#include "cli/verbs/exec.h"

#include <memory>

#include "cli/verbs/containers.h"
#include "cli/verbs/cri_util.h"
#include "cli/verbs/stream_session.h"

namespace berth::cli {
namespace {

using Stub = ::runtime::v1::RuntimeService::Stub;

struct ExecFlags {
  bool sync = false, tty = false, interactive = false, latest = false, quiet = false,
       ignore_errors = false, parallel = false;
  int64_t timeout = 0;
  int last = 0;
  std::string transport = "spdy", name, pod, image, state;
  std::vector<std::string> labels;
  CLI::Option *name_opt, *pod_opt, *image_opt, *state_opt, *label_opt, *latest_opt, *last_opt;
};

bool AnyFilter(const ExecFlags& f) {
  for (const CLI::Option* o :
       {f.name_opt, f.pod_opt, f.image_opt, f.state_opt, f.label_opt, f.latest_opt, f.last_opt}) {
    if (o->count() > 0) return true;
  }
  return false;
}

// The containers the filter flags select (crictl's ListContainers with these options).
Result<std::vector<std::string>> FilteredIds(Context& ctx, const ExecFlags& f) {
  ::runtime::v1::ListContainersRequest request;
  auto* filter = request.mutable_filter();
  if (!f.pod.empty()) {
    auto pod = ResolvePodId(ctx, f.pod);
    if (!pod.ok()) return pod.status();
    filter->set_pod_sandbox_id(*pod);
  }
  if (f.state.empty()) {
    filter->mutable_state()->set_state(::runtime::v1::CONTAINER_RUNNING);
  } else {
    auto s = ParseContainerState(f.state);
    if (!s.ok()) return s.status();
    filter->mutable_state()->set_state(*s);
  }
  if (f.latest || f.last > 0) filter->clear_state();
  auto selector = ParseLabelSelector(f.labels);
  if (!selector.ok()) return selector.status();
  for (const auto& [k, v] : *selector) (*filter->mutable_label_selector())[k] = v;
  auto listed = ctx.connection.Call(ctx.connection.Runtime(), &Stub::ListContainers, request);
  if (!listed.ok()) return listed.status().Wrap("listing containers");
  std::vector<::runtime::v1::Container> containers(listed->containers().begin(),
                                                   listed->containers().end());
  if (!f.image.empty()) {
    std::vector<::runtime::v1::Container> kept;
    for (auto& c : containers) {
      if (c.image().image() == f.image || c.image_ref() == f.image) kept.push_back(std::move(c));
    }
    containers = std::move(kept);
  }
  std::vector<std::string> ids;
  for (const auto& c : SelectContainers(std::move(containers), {f.name, "", f.latest, f.last})) {
    ids.push_back(c.id());
  }
  return ids;
}

// One ExecSync; the command's exit code.
Result<int> ExecSyncOne(Context& ctx, const std::string& id, const std::vector<std::string>& cmd,
                        int64_t timeout) {
  ::runtime::v1::ExecSyncRequest request;
  request.set_container_id(id);
  for (const auto& a : cmd) request.add_cmd(a);
  request.set_timeout(timeout);
  // cri-client: no deadline without a timeout; otherwise the timeout plus the request timeout.
  std::optional<std::chrono::nanoseconds> deadline;
  if (timeout > 0) deadline = ctx.options.timeout + std::chrono::seconds(timeout);
  auto r = ctx.connection.CallWithin(deadline, ctx.connection.Runtime(), &Stub::ExecSync, request);
  if (!r.ok()) return r.status();
  ctx.out << r->stdout();
  ctx.out.flush();
  ctx.err << r->stderr();
  ctx.err.flush();
  return r->exit_code();
}

// One streaming exec (CRI Exec for the URL, then SPDY or WebSocket); the command's exit code.
Result<int> ExecStreamOne(Context& ctx, const std::string& id, const std::vector<std::string>& cmd,
                          const StreamRequest& stream) {
  ::runtime::v1::ExecRequest request;
  request.set_container_id(id);
  for (const auto& a : cmd) request.add_cmd(a);
  request.set_tty(stream.tty);
  request.set_stdin(stream.stdin);
  request.set_stdout(true);
  request.set_stderr(!stream.tty);
  auto r = ctx.connection.Call(ctx.connection.Runtime(), &Stub::Exec, request);
  if (!r.ok()) return r.status();
  ctx.debug("Exec URL: " + r->url());
  return RunStreamSession(ctx, r->url(), stream);
}

Status RunExec(Context& ctx, const ExecFlags& flags, CLI::App* app) {
  std::vector<std::string> args = app->remaining();
  if (args.empty()) {
    ctx.out << app->help();
    return OkStatus();
  }
  std::vector<std::string> ids;
  std::vector<std::string> cmd;
  bool print_ids = false;
  if (AnyFilter(flags)) {
    cmd = args;
    auto listed = FilteredIds(ctx, flags);
    if (!listed.ok()) return listed.status();
    if (listed->empty()) {
      ctx.err << "No containers found per filter flags\n";
      ctx.out << app->help();
      return OkStatus();
    }
    ids = std::move(*listed);
    print_ids = !flags.quiet && !flags.parallel;
  } else {
    if (args.size() < 2) {
      ctx.out << app->help();
      return OkStatus();
    }
    ids = {args.front()};
    cmd.assign(args.begin() + 1, args.end());
  }
  StreamRequest stream{flags.interactive, flags.tty};
  if (!flags.sync) {
    auto transport = streaming::ParseTransport(flags.transport);
    if (!transport.ok()) return transport.status();
    stream.transport = *transport;
    BERTH_RETURN_IF_ERROR(CheckTtyFlags(ctx, stream));
  }
  std::vector<Status> errors;
  int exit_code = 0;
  for (const std::string& arg : ids) {
    if (print_ids) {
      ctx.out << arg << ":\n";
      ctx.out.flush();
    }
    auto id = ResolveContainerId(ctx, arg);
    Result<int> code = id.status();
    if (id.ok()) {
      code = flags.sync ? ExecSyncOne(ctx, *id, cmd, flags.timeout)
                        : ExecStreamOne(ctx, *id, cmd, stream);
    }
    if (!code.ok()) {
      errors.push_back(code.status().Wrap("execing command in container " + arg +
                                          (flags.sync ? " synchronously" : "")));
    } else if (*code != 0 && exit_code == 0) {
      exit_code = *code;
    }
  }
  if (flags.ignore_errors) return OkStatus();
  BERTH_RETURN_IF_ERROR(AggregateErrors(errors));
  ctx.exit_code = exit_code;
  return OkStatus();
}

}  // namespace

void AddExecCommands(CLI::App& root, CommandList& commands) {
  auto flags = std::make_shared<ExecFlags>();
  CLI::App* app = root.add_subcommand("exec", "Run a command in a running container");
  // Everything from the first argument that is not an option on is the container and the
  // command, options of the command included (`exec -s ID sh -c "echo hi"`).
  app->prefix_command();
  // Not handed up to the global options: the command's own words stay with the verb.
  app->fallthrough(false);
  app->add_flag("-s,--sync", flags->sync, "Run the command synchronously");
  app->add_option("--timeout", flags->timeout,
                  "Timeout in seconds (with -s; a streaming exec runs until the command ends)");
  app->add_flag("-t,--tty", flags->tty, "Allocate a pseudo-TTY");
  app->add_flag("-i,--interactive", flags->interactive, "Keep STDIN open");
  app->add_option("-r,--transport", flags->transport,
                  "Transport protocol to use, one of: spdy|websocket");
  flags->name_opt = app->add_option(
      "--name", flags->name,
      "Exec command for all containers matching this name filter regular expression pattern");
  flags->pod_opt = app->add_option("-p,--pod", flags->pod,
                                   "Exec command for all containers matching this pod ID filter");
  flags->image_opt =
      app->add_option("--image", flags->image,
                      "Exec command for all containers matching this container image filter");
  flags->state_opt =
      app->add_option("--state", flags->state,
                      "Exec command for all containers matching this container state filter");
  flags->label_opt =
      app->add_option("--label", flags->labels,
                      "Exec command for all containers matching this key=value label filter")
          ->expected(1)
          ->allow_extra_args(false)
          ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  flags->latest_opt = app->add_flag("-l,--latest", flags->latest,
                                    "Exec command for the most recently created container");
  flags->last_opt = app->add_option(
      "-n,--last", flags->last, "Exec command for all last n containers, set to 0 for unlimited");
  app->add_flag("-q,--quiet", flags->quiet,
                "Do not print the container ID if multiple containers are selected");
  app->add_flag("-e,--ignore-errors", flags->ignore_errors,
                "Ignore errors during command execution");
  app->add_flag("-x,--parallel", flags->parallel,
                "Run the command in parallel if multiple containers are selected");
  commands.push_back({app, [flags, app](Context& ctx) { return RunExec(ctx, *flags, app); }});
}

}  // namespace berth::cli
