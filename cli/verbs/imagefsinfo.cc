#include "cli/verbs/imagefsinfo.h"

#include <memory>

#include "cli/output/format.h"
#include "cli/verbs/image_util.h"

namespace berth::cli {
namespace {

struct ImageFsInfoFlags {
  std::string output = "json";
};

Status RunImageFsInfo(Context& ctx, const ImageFsInfoFlags& flags) {
  auto format = ParseOutputFormat(flags.output.empty() ? "json" : flags.output,
                                  {OutputFormat::kJson, OutputFormat::kYaml, OutputFormat::kTable});
  if (!format.ok()) return format.status();
  auto response =
      ctx.connection.Call(ctx.connection.Image(), &::runtime::v1::ImageService::Stub::ImageFsInfo,
                          ::runtime::v1::ImageFsInfoRequest());
  if (!response.ok()) return response.status().Wrap("image filesystem info request");
  if (*format == OutputFormat::kTable) {
    ctx.out << FormatImageFsInfoTable(*response);
    return OkStatus();
  }
  auto status = MessageToJson(*response);
  if (!status.ok()) return status.status().Wrap("marshal filesystem info to json");
  auto entry = StatusDataJson(*status, {});
  if (!entry.ok()) return entry.status();
  ctx.out << FormatStructured(*entry, *format);
  return OkStatus();
}

std::string FilesystemBlock(
    const std::string& label,
    const google::protobuf::RepeatedPtrField<::runtime::v1::FilesystemUsage>& filesystems) {
  std::string out = label + " Filesystem \n";
  for (int i = 0; i < filesystems.size(); ++i) {
    const auto& fs = filesystems[i];
    const std::string n = std::to_string(i);
    out += "TimeStamp[" + n + "]: " + std::to_string(fs.timestamp()) + "\n";
    out += "Disk[" + n + "]: " + HumanSize(static_cast<double>(fs.used_bytes().value())) + "\n";
    out += "Inodes[" + n + "]: " + std::to_string(fs.inodes_used().value()) + "\n";
    out += "Mountpoint[" + n + "]: " + fs.fs_id().mountpoint() + "\n";
  }
  return out;
}

}  // namespace

std::string FormatImageFsInfoTable(const ::runtime::v1::ImageFsInfoResponse& response) {
  return FilesystemBlock("Container", response.container_filesystems()) +
         FilesystemBlock("Image", response.image_filesystems());
}

void AddImageFsInfoCommands(CLI::App& root, CommandList& commands) {
  auto flags = std::make_shared<ImageFsInfoFlags>();
  CLI::App* app = root.add_subcommand("imagefsinfo", "Return image filesystem info");
  app->add_option("-o,--output", flags->output, "Output format, One of: json|yaml|table")
      ->capture_default_str();
  commands.push_back({app, [flags](Context& ctx) { return RunImageFsInfo(ctx, *flags); }});
}

}  // namespace berth::cli
