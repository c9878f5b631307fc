#include "cli/verbs/stats.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <thread>

#include "cli/output/format.h"
#include "cli/output/table.h"
#include "cli/verbs/cri_util.h"
#include "cli/verbs/image_util.h"

namespace berth::cli {
namespace {

using Stub = ::runtime::v1::RuntimeService::Stub;

struct StatsFlags {
  std::vector<std::string> args;
  bool all = false, watch = false;
  std::string id, pod, output;
  std::vector<std::string> labels;
  int seconds = 1;
};

std::string Percent(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

Result<OutputFormat> StatsFormat(const std::string& output) {
  if (output.empty()) return OutputFormat::kTable;
  return ParseOutputFormat(output,
                           {OutputFormat::kJson, OutputFormat::kYaml, OutputFormat::kTable});
}

// crictl clears the screen before each table; only worth doing on a terminal.
void ClearScreen(Context& ctx) {
  if (ctx.terminal.out) ctx.out << "\033[2J\033[H";
}

// Runs `once` once, or every 500 ms after the previous display with --watch (until killed).
Status Display(const StatsFlags& flags, const std::function<Status()>& once) {
  do {
    BERTH_RETURN_IF_ERROR(once());
    if (flags.watch) std::this_thread::sleep_for(std::chrono::milliseconds(500));
  } while (flags.watch);
  return OkStatus();
}

// One screen of stats: a structured dump of one sample, or a table of the rates between two
// samples taken --seconds apart (the CPU column needs two), redrawn by Display with --watch.
template <class Sample, class Table>
Status ShowSamples(Context& ctx, const StatsFlags& flags, OutputFormat format, Sample& sample,
                   Table table_of, const char* what) {
  return Display(flags, [&]() -> Status {
    auto before = sample();
    if (!before.ok()) return before.status();
    if (format != OutputFormat::kTable) {
      auto json = MessageToJson(*before);
      if (!json.ok()) return json.status();
      ctx.out << FormatStructured(*json, format);
      return OkStatus();
    }
    std::this_thread::sleep_for(std::chrono::seconds(flags.seconds));
    auto after = sample();
    if (!after.ok()) return after.status();
    auto table = table_of(*before, *after);
    if (!table.ok()) return table.status().Wrap(what);
    ClearScreen(ctx);
    ctx.out << *table << std::flush;
    return OkStatus();
  });
}

Status RunStats(Context& ctx, const StatsFlags& flags, CLI::App* app) {
  if (flags.args.size() > 1) {
    ctx.out << app->help();
    return OkStatus();
  }
  auto format = StatsFormat(flags.output);
  if (!format.ok()) return format.status().Wrap("get container stats");
  ::runtime::v1::ListContainerStatsRequest request;
  std::string id = flags.id.empty() && !flags.args.empty() ? flags.args.front() : flags.id;
  if (!id.empty()) {
    auto resolved = ResolveContainerId(ctx, id);
    if (!resolved.ok()) return resolved.status().Wrap("get container stats");
    request.mutable_filter()->set_id(*resolved);
  }
  if (!flags.pod.empty()) {
    auto resolved = ResolvePodId(ctx, flags.pod);
    if (!resolved.ok()) return resolved.status().Wrap("get container stats");
    request.mutable_filter()->set_pod_sandbox_id(*resolved);
  }
  auto selector = ParseLabelSelector(flags.labels);
  if (!selector.ok()) return selector.status();
  for (const auto& [k, v] : *selector) (*request.mutable_filter()->mutable_label_selector())[k] = v;

  auto sample = [&]() -> Result<::runtime::v1::ListContainerStatsResponse> {
    auto r = ctx.connection.Call(ctx.connection.Runtime(), &Stub::ListContainerStats, request);
    if (!r.ok()) return r.status().Wrap("get container stats");
    std::sort(
        r->mutable_stats()->begin(), r->mutable_stats()->end(),
        [](const auto& a, const auto& b) { return a.attributes().id() < b.attributes().id(); });
    return r;
  };
  return ShowSamples(
      ctx, flags, *format, sample,
      [&](const auto& before, const auto& after) {
        return FormatContainerStatsTable(before, after, flags.all);
      },
      "get container stats");
}

Status RunStatsp(Context& ctx, const StatsFlags& flags, CLI::App* app) {
  if (flags.args.size() > 1) {
    ctx.out << app->help();
    return OkStatus();
  }
  auto format = StatsFormat(flags.output);
  if (!format.ok()) return format.status().Wrap("get pod stats");
  ::runtime::v1::ListPodSandboxStatsRequest request;
  std::string id = flags.id.empty() && !flags.args.empty() ? flags.args.front() : flags.id;
  if (!id.empty()) {
    auto resolved = ResolvePodId(ctx, id);
    if (!resolved.ok()) return resolved.status().Wrap("get pod stats");
    request.mutable_filter()->set_id(*resolved);
  }
  auto selector = ParseLabelSelector(flags.labels);
  if (!selector.ok()) return selector.status().Wrap("parse pod labels");
  for (const auto& [k, v] : *selector) (*request.mutable_filter()->mutable_label_selector())[k] = v;

  auto sample = [&]() -> Result<::runtime::v1::ListPodSandboxStatsResponse> {
    auto r = ctx.connection.Call(ctx.connection.Runtime(), &Stub::ListPodSandboxStats, request);
    if (!r.ok()) return r.status().Wrap("get pod stats: list pod sandbox stats");
    std::sort(
        r->mutable_stats()->begin(), r->mutable_stats()->end(),
        [](const auto& a, const auto& b) { return a.attributes().id() < b.attributes().id(); });
    return r;
  };
  return ShowSamples(
      ctx, flags, *format, sample,
      [&](const auto& before, const auto& after) { return FormatPodStatsTable(before, after); },
      "get pod stats");
}

}  // namespace

Result<std::string> FormatContainerStatsTable(
    const ::runtime::v1::ListContainerStatsResponse& before,
    const ::runtime::v1::ListContainerStatsResponse& after, bool all) {
  std::map<std::string, const ::runtime::v1::ContainerStats*> old;
  for (const auto& s : before.stats()) old[s.attributes().id()] = &s;
  Table table({"CONTAINER", "NAME", "CPU %", "MEM", "DISK", "INODES", "SWAP"});
  for (const auto& s : after.stats()) {
    const uint64_t cpu = s.cpu().usage_core_nano_seconds().value();
    const uint64_t mem = s.memory().working_set_bytes().value();
    if (!all && cpu == 0 && mem == 0) continue;  // not running
    auto it = old.find(s.attributes().id());
    if (it == old.end()) continue;  // new since the first sample
    double percent = 0;
    if (cpu != 0) {
      const int64_t duration = s.cpu().timestamp() - it->second->cpu().timestamp();
      if (duration == 0) return InvalidArgument("cpu stat is not updated during sample");
      percent = static_cast<double>(cpu - it->second->cpu().usage_core_nano_seconds().value()) /
                static_cast<double>(duration) * 100;
    }
    table.AddRow({TruncateId(s.attributes().id(), ""), s.attributes().metadata().name(),
                  Percent(percent), HumanSize(static_cast<double>(mem)),
                  HumanSize(static_cast<double>(s.writable_layer().used_bytes().value())),
                  std::to_string(s.writable_layer().inodes_used().value()),
                  HumanSize(static_cast<double>(s.swap().swap_usage_bytes().value()))});
  }
  return table.Render();
}

Result<std::string> FormatPodStatsTable(const ::runtime::v1::ListPodSandboxStatsResponse& before,
                                        const ::runtime::v1::ListPodSandboxStatsResponse& after) {
  std::map<std::string, const ::runtime::v1::PodSandboxStats*> old;
  for (const auto& s : before.stats()) old[s.attributes().id()] = &s;
  Table table({"POD", "POD ID", "CPU %", "MEM"});
  for (const auto& s : after.stats()) {
    const std::string id = TruncateId(s.attributes().id(), "");
    if (s.has_linux() && s.has_windows()) {
      return InvalidArgument("pod \"" + id +
                             "\" has both linux and windows stats which is not supported");
    }
    uint64_t cpu = 0, mem = 0;
    int64_t ts = 0;
    if (s.has_linux()) {
      cpu = s.linux().cpu().usage_core_nano_seconds().value();
      mem = s.linux().memory().working_set_bytes().value();
      ts = s.linux().cpu().timestamp();
    } else if (s.has_windows()) {
      cpu = s.windows().cpu().usage_core_nano_seconds().value();
      mem = s.windows().memory().working_set_bytes().value();
      ts = s.windows().cpu().timestamp();
    }
    if (cpu == 0 && mem == 0) continue;
    auto it = old.find(s.attributes().id());
    if (it == old.end()) continue;
    const auto& o = *it->second;
    const uint64_t old_cpu = s.has_linux() ? o.linux().cpu().usage_core_nano_seconds().value()
                                           : o.windows().cpu().usage_core_nano_seconds().value();
    const int64_t old_ts =
        s.has_linux() ? o.linux().cpu().timestamp() : o.windows().cpu().timestamp();
    double percent = 0;
    if (cpu != 0) {
      if (ts - old_ts == 0) return InvalidArgument("cpu stat is not updated during sample");
      percent = static_cast<double>(cpu - old_cpu) / static_cast<double>(ts - old_ts) * 100;
    }
    table.AddRow({s.attributes().metadata().name(), id, Percent(percent),
                  HumanSize(static_cast<double>(mem))});
  }
  return table.Render();
}

void AddStatsCommands(CLI::App& root, CommandList& commands) {
  {
    auto flags = std::make_shared<StatsFlags>();
    CLI::App* app = root.add_subcommand("stats", "List container(s) resource usage statistics");
    app->add_option("id", flags->args, "[ID]");
    app->add_flag("-a,--all", flags->all, "Show all containers (default shows just running)");
    app->add_option("--id", flags->id, "Filter by container id");
    app->add_option("-p,--pod", flags->pod, "Filter by pod id");
    app->add_option("--label", flags->labels, "Filter by key=value label")
        ->expected(1)
        ->allow_extra_args(false)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    app->add_option("-o,--output", flags->output, "Output format, One of: json|yaml|table");
    app->add_option("-s,--seconds", flags->seconds, "Sample duration for CPU usage in seconds")
        ->capture_default_str();
    app->add_flag("-w,--watch", flags->watch, "Watch pod resources");
    commands.push_back({app, [flags, app](Context& ctx) { return RunStats(ctx, *flags, app); }});
  }
  {
    auto flags = std::make_shared<StatsFlags>();
    CLI::App* app = root.add_subcommand(
        "statsp",
        "List pod statistics. Stats represent a structured API that will fulfill the Kubelet's "
        "/stats/summary endpoint.");
    app->add_option("id", flags->args, "[ID]");
    app->add_option("--id", flags->id, "Filter by pod id");
    app->add_option("--label", flags->labels, "Filter by key=value label")
        ->expected(1)
        ->allow_extra_args(false)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    app->add_option("-o,--output", flags->output, "Output format, One of: json|yaml|table");
    app->add_option("-s,--seconds", flags->seconds, "Sample duration for CPU usage in seconds")
        ->capture_default_str();
    app->add_flag("-w,--watch", flags->watch, "Watch pod resources");
    commands.push_back({app, [flags, app](Context& ctx) { return RunStatsp(ctx, *flags, app); }});
  }
}

}  // namespace berth::cli
