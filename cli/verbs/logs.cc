#include "cli/verbs/logs.h"

#include <memory>

#include "cli/verbs/cri_util.h"
#include "cli/verbs/log_reader.h"

namespace berth::cli {
namespace {

using Stub = ::runtime::v1::RuntimeService::Stub;

struct LogsFlags {
  std::vector<std::string> args;
  bool follow = false, previous = false, reopen = false, timestamps = false;
  int64_t tail = -1, limit_bytes = -1;
  std::string since, stream;
  CLI::Option *tail_opt = nullptr, *stream_opt = nullptr;
};

Status RunLogs(Context& ctx, const LogsFlags& flags, CLI::App* app) {
  if (flags.args.empty() || flags.args.front().empty()) {
    return InvalidArgument("ID cannot be empty");
  }
  if (flags.args.size() > 1) {
    ctx.out << app->help();
    return OkStatus();
  }
  if (flags.stream != "" && flags.stream != "stdout" && flags.stream != "stderr") {
    return InvalidArgument("invalid stream \"" + flags.stream +
                           "\", must be \"stdout\" or \"stderr\"");
  }
  if (flags.tail_opt->count() > 0 && flags.stream_opt->count() > 0) {
    return InvalidArgument("--tail and --stream are mutually exclusive");
  }
  LogReadOptions options;
  options.tail = flags.tail;
  options.limit_bytes = flags.limit_bytes;
  options.timestamps = flags.timestamps;
  options.follow = flags.follow;
  options.stdout_stream = flags.stream != "stderr";
  options.stderr_stream = flags.stream != "stdout";
  if (!flags.since.empty()) {
    auto since = ParseSince(flags.since, std::chrono::system_clock::now());
    if (!since.ok()) return since.status();
    options.since_nanos = *since;
  }

  auto id = ResolveContainerId(ctx, flags.args.front());
  if (!id.ok()) return id.status();
  if (flags.reopen) {
    ::runtime::v1::ReopenContainerLogRequest request;
    request.set_container_id(*id);
    auto r = ctx.connection.Call(ctx.connection.Runtime(), &Stub::ReopenContainerLog, request);
    if (!r.ok()) return r.status().Wrap("reopen container logs");
    ctx.err << "Container logs reopened\n";
  }
  ::runtime::v1::ContainerStatusRequest request;
  request.set_container_id(*id);
  auto status = ctx.connection.Call(ctx.connection.Runtime(), &Stub::ContainerStatus, request);
  if (!status.ok()) return status.status();
  std::string path = status->status().log_path();
  if (path.empty()) return FailedPrecondition("the container has not set log path");
  if (flags.previous) {
    const uint32_t attempt = status->status().metadata().attempt();
    if (attempt == 0) {
      return NotFound("previous terminated container " + status->status().metadata().name() +
                      " not found");
    }
    path = PreviousLogPath(path, attempt);
  }
  // kubelet's follow ends when the container stops running (checked about once a second).
  options.still_running = [&ctx, id = *id] {
    ::runtime::v1::ContainerStatusRequest r;
    r.set_container_id(id);
    auto s = ctx.connection.Call(ctx.connection.Runtime(), &Stub::ContainerStatus, r);
    return s.ok() && s->status().state() == ::runtime::v1::CONTAINER_RUNNING;
  };
  return ReadCriLog(path, options, ctx.out, ctx.err, ctx.err);
}

}  // namespace

std::string PreviousLogPath(const std::string& log_path, uint32_t attempt) {
  size_t slash = log_path.rfind('/');
  size_t dot = log_path.rfind('.');
  std::string dir = log_path.substr(0, slash == std::string::npos ? 0 : slash + 1);
  std::string ext = dot == std::string::npos || (slash != std::string::npos && dot < slash)
                        ? std::string()
                        : log_path.substr(dot);
  return dir + std::to_string(attempt - 1) + ext;
}

void AddLogsCommands(CLI::App& root, CommandList& commands) {
  auto flags = std::make_shared<LogsFlags>();
  CLI::App* app = root.add_subcommand("logs", "Fetch the logs of a container");
  app->add_option("container-id", flags->args, "CONTAINER-ID");
  app->add_flag("-f,--follow", flags->follow, "Follow log output");
  app->add_flag("-p,--previous", flags->previous,
                "Print the logs for the previous instance of the container in a pod if it exists");
  app->add_flag("-r,--reopen", flags->reopen,
                "Reopen the container logs for the provided container");
  flags->tail_opt = app->add_option("--tail", flags->tail,
                                    "Number of lines to show from the end of the logs. Defaults "
                                    "to all");
  app->add_option("--limit-bytes", flags->limit_bytes,
                  "Maximum bytes of logs to return. Defaults to no limit");
  app->add_option("--since", flags->since,
                  "Show logs since timestamp (e.g. 2013-01-02T13:23:37) or relative (e.g. 42m "
                  "for 42 minutes)");
  app->add_flag("-t,--timestamps", flags->timestamps, "Show timestamps");
  flags->stream_opt = app->add_option(
      "-s,--stream", flags->stream, "Show specified stream (stdout or stderr). Defaults to both.");
  commands.push_back({app, [flags, app](Context& ctx) { return RunLogs(ctx, *flags, app); }});
}

}  // namespace berth::cli
