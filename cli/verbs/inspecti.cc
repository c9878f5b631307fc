#include "cli/verbs/inspecti.h"

#include <memory>

#include "cli/output/format.h"
#include "cli/verbs/image_util.h"

namespace berth::cli {
namespace {

struct InspectiFlags {
  std::vector<std::string> ids;
  std::string output = "json";
  bool quiet = false;
};

Status RunInspecti(Context& ctx, const InspectiFlags& flags, CLI::App* app) {
  if (flags.ids.empty()) {
    ctx.out << app->help();
    return OkStatus();
  }
  auto format = ParseOutputFormat(flags.output.empty() ? "json" : flags.output,
                                  {OutputFormat::kJson, OutputFormat::kYaml, OutputFormat::kTable});
  if (!format.ok()) return format.status();
  const bool verbose = !flags.quiet;

  std::vector<nlohmann::json> statuses;
  for (const std::string& id : flags.ids) {
    ::runtime::v1::ImageStatusRequest request;
    request.mutable_image()->set_image(id);
    request.set_verbose(verbose);
    auto response = ctx.connection.Call(ctx.connection.Image(),
                                        &::runtime::v1::ImageService::Stub::ImageStatus, request);
    if (!response.ok()) return response.status().Wrap("image status for \"" + id + "\" request");
    if (!response->has_image()) return NotFound("no such image \"" + id + "\" present");
    if (*format == OutputFormat::kTable) {
      ctx.out << FormatImageStatusTable(*response, verbose);
      continue;
    }
    auto status = MessageToJson(response->image());
    if (!status.ok()) return status.status().Wrap("marshal status to JSON for \"" + id + "\"");
    auto entry = StatusDataJson(*status, response->info());
    if (!entry.ok()) return entry.status();
    statuses.push_back(std::move(*entry));
  }
  if (!statuses.empty()) ctx.out << FormatStructured(StatusDataList(std::move(statuses)), *format);
  return OkStatus();
}

}  // namespace

std::string FormatImageStatusTable(const ::runtime::v1::ImageStatusResponse& r, bool verbose) {
  std::string out = "ID: " + r.image().id() + "\n";
  for (const auto& t : r.image().repo_tags()) out += "Tag: " + t + "\n";
  for (const auto& d : r.image().repo_digests()) out += "Digest: " + d + "\n";
  out += "Size: " + HumanSize(static_cast<double>(r.image().size()), 3) + "\n";
  if (verbose) out += "Info: " + GoMapString(r.info()) + "\n";
  return out;
}

void AddInspectiCommands(CLI::App& root, CommandList& commands) {
  auto flags = std::make_shared<InspectiFlags>();
  CLI::App* app = root.add_subcommand("inspecti", "Return the status of one or more images");
  app->add_option("image", flags->ids, "IMAGE-ID [IMAGE-ID...]");
  app->add_option("-o,--output", flags->output, "Output format, One of: json|yaml|table")
      ->capture_default_str();
  app->add_flag("-q,--quiet", flags->quiet, "Do not show verbose information");
  commands.push_back({app, [flags, app](Context& ctx) { return RunInspecti(ctx, *flags, app); }});
}

}  // namespace berth::cli
