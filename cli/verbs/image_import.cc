#include "cli/verbs/image_import.h"

#include <filesystem>
#include <memory>

#include "cli/verbs/image_util.h"

namespace berth::cli {
namespace {

struct ImportFlags {
  std::string path, name;
};

Status RunImport(Context& ctx, const ImportFlags& flags) {
  if (flags.path.empty()) return InvalidArgument("PATH cannot be empty");
  // berthd opens the path itself: make it absolute against our working directory.
  std::error_code ec;
  std::filesystem::path path = std::filesystem::absolute(flags.path, ec);
  if (ec) return InvalidArgument("import path \"" + flags.path + "\": " + ec.message());
  ::berth::v1::ImportImageRequest request;
  request.set_path(path.lexically_normal().string());
  request.set_name(flags.name);
  // Importing a big archive takes as long as a pull: no deadline, as for pulls.
  auto response = ctx.connection.CallWithin(std::nullopt, ctx.connection.Images(),
                                            &::berth::v1::Images::Stub::Import, request);
  if (!response.ok()) {
    if (IsUnimplemented(response.status())) {
      return Unimplemented("importing images: the image endpoint " + ctx.options.image_endpoint +
                           " is not berthd (image import is a berth extension)");
    }
    return response.status().Wrap("importing " + request.path());
  }
  ctx.out << FormatImportedImages(*response);
  return OkStatus();
}

}  // namespace

std::string FormatImportedImages(const ::berth::v1::ImportImageResponse& response) {
  std::string out;
  for (const auto& img : response.images()) {
    if (img.repo_tags_size() == 0) {
      out += "Imported " + img.id() + "\n";
      continue;
    }
    for (const auto& tag : img.repo_tags()) out += "Imported " + tag + " (" + img.id() + ")\n";
  }
  return out;
}

void AddImageImportCommands(CLI::App& root, CommandList& commands) {
  CLI::App* images = root.get_subcommand("images");
  auto flags = std::make_shared<ImportFlags>();
  CLI::App* app = images->add_subcommand(
      "import",
      "Import images from an OCI layout (directory or tar) or a docker save tarball on the "
      "daemon's host (berthd only)");
  app->add_option("path", flags->path, "PATH")->required();
  app->add_option("--name", flags->name,
                  "Reference to tag the image with when the archive names none");
  commands.push_back({app, [flags](Context& ctx) { return RunImport(ctx, *flags); }});
}

}  // namespace berth::cli
