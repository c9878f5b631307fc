#include "cli/verbs/images.h"

#include <regex.h>

#include <algorithm>
#include <memory>

#include "cli/output/format.h"
#include "cli/output/table.h"
#include "cli/verbs/image_util.h"

namespace berth::cli {
namespace {

using ::runtime::v1::Image;

struct ImagesFlags {
  std::vector<std::string> args;
  bool verbose = false, quiet = false, digests = false, no_trunc = false, pinned = false;
  std::vector<std::string> filters;
  std::string output;
};

std::vector<std::string> ToVector(const google::protobuf::RepeatedPtrField<std::string>& f) {
  return {f.begin(), f.end()};
}

// crictl's filterByBeforeSince over `list`: the images before the first one that matches.
std::vector<Image> TakeUntil(const std::string& value, const std::vector<Image>& list) {
  std::vector<Image> out;
  const bool has_colon = value.find(':') != std::string::npos;
  const bool has_at = value.find('@') != std::string::npos;
  for (const Image& img : list) {
    if (has_colon && !has_at) {
      auto [name, digest] = SplitRepoDigest(ToVector(img.repo_digests()));
      auto pairs = RepoTagPairs(ToVector(img.repo_tags()), name);
      if (pairs.front().first + ":" + pairs.front().second == value) break;
      out.push_back(img);
    } else if (!has_colon && !has_at) {
      if (img.id().rfind(value, 0) == 0) break;
      out.push_back(img);
    } else if (has_colon && has_at) {
      if (img.repo_digests_size() == 0) continue;
      if (img.repo_digests(0).rfind(value, 0) == 0) break;
      out.push_back(img);
    }
  }
  return out;
}

Status RunImages(Context& ctx, const ImagesFlags& flags, CLI::App* app) {
  if (flags.args.size() > 1) {
    ctx.out << app->help();
    return OkStatus();
  }
  std::optional<OutputFormat> format;
  if (!flags.output.empty()) {
    auto f = ParseOutputFormat(flags.output,
                               {OutputFormat::kJson, OutputFormat::kYaml, OutputFormat::kTable});
    if (!f.ok()) return f.status();
    format = *f;
  }
  ::runtime::v1::ListImagesRequest request;
  request.mutable_filter()->mutable_image()->set_image(flags.args.empty() ? "" : flags.args[0]);
  auto response = ctx.connection.Call(ctx.connection.Image(),
                                      &::runtime::v1::ImageService::Stub::ListImages, request);
  if (!response.ok()) return response.status().Wrap("listing images");

  std::vector<Image> images(response->images().begin(), response->images().end());
  SortImagesLikeCrictl(images);
  if (!flags.filters.empty() && !images.empty()) {
    auto filtered = FilterImages(std::move(images), flags.filters);
    if (!filtered.ok()) return filtered.status().Wrap("listing images");
    images = std::move(*filtered);
  }

  if (format == OutputFormat::kJson || format == OutputFormat::kYaml) {
    ::runtime::v1::ListImagesResponse sorted;
    for (auto& img : images) *sorted.add_images() = std::move(img);
    auto json = MessageToJson(sorted);
    if (!json.ok()) return json.status();
    ctx.out << FormatStructured(*json, *format);
    return OkStatus();
  }
  if (flags.quiet) {
    for (const Image& img : images) ctx.out << img.id() << "\n";
    return OkStatus();
  }
  if (flags.verbose) {
    ctx.out << FormatImagesVerbose(images);
    return OkStatus();
  }
  ctx.out << FormatImagesTable(images, {flags.digests, flags.no_trunc, flags.pinned});
  return OkStatus();
}

}  // namespace

std::string FormatImagesTable(const std::vector<Image>& images, const ImagesTableOptions& options) {
  std::vector<std::string> header = {"IMAGE", "TAG"};
  if (options.digests) header.push_back("DIGEST");
  header.insert(header.end(), {"IMAGE ID", "SIZE"});
  if (options.pinned) header.push_back("PINNED");
  Table table(std::move(header));
  for (const Image& img : images) {
    auto [name, digest] = SplitRepoDigest(ToVector(img.repo_digests()));
    std::string id = img.id();
    if (!options.no_trunc) {
      id = TruncateId(id);
      digest = TruncateId(digest);
    }
    const std::string size = HumanSize(static_cast<double>(img.size()), 3);
    for (auto& [repo, tag] : RepoTagPairs(ToVector(img.repo_tags()), name)) {
      std::vector<std::string> row = {repo, tag};
      if (options.digests) row.push_back(digest);
      row.insert(row.end(), {id, size});
      if (options.pinned) row.push_back(img.pinned() ? "true" : "false");
      table.AddRow(std::move(row));
    }
  }
  return table.Render();
}

std::string FormatImagesVerbose(const std::vector<Image>& images) {
  std::string out;
  for (const Image& img : images) {
    out += "ID: " + img.id() + "\n";
    for (const auto& t : img.repo_tags()) out += "RepoTags: " + t + "\n";
    for (const auto& d : img.repo_digests()) out += "RepoDigests: " + d + "\n";
    if (img.size() != 0) out += "Size: " + std::to_string(img.size()) + "\n";
    if (img.has_uid()) out += "Uid: value:" + std::to_string(img.uid().value()) + "\n";
    if (!img.username().empty()) out += "Username: " + img.username() + "\n";
    if (img.pinned()) out += "Pinned: true\n";
    out += "\n";
  }
  return out;
}

Result<std::vector<Image>> FilterImages(std::vector<Image> images,
                                        const std::vector<std::string>& filters) {
  auto has_prefix = [](const std::string& s, std::string_view p) { return s.rfind(p, 0) == 0; };
  for (const std::string& filter : filters) {
    if (has_prefix(filter, "before=")) {
      std::reverse(images.begin(), images.end());
      images = TakeUntil(filter.substr(7), images);
      std::reverse(images.begin(), images.end());
    } else if (has_prefix(filter, "since=")) {
      images = TakeUntil(filter.substr(6), images);
    } else if (has_prefix(filter, "dangling=")) {
      const std::string v = filter.substr(9);
      std::vector<Image> kept;
      for (auto& img : images) {
        if ((v == "true" && img.repo_tags_size() == 0) ||
            (v == "false" && img.repo_tags_size() > 0)) {
          kept.push_back(std::move(img));
        }
      }
      images = std::move(kept);
    } else if (has_prefix(filter, "reference=")) {
      const std::string v = filter.substr(10);
      // POSIX extended regular expressions: what Go's RE2 reference patterns mostly are.
      regex_t re;
      if (int rc = ::regcomp(&re, v.c_str(), REG_EXTENDED | REG_NOSUB); rc != 0) {
        char why[256];
        ::regerror(rc, &re, why, sizeof why);
        return InvalidArgument("invalid regular expression \"" + v + "\": " + why);
      }
      std::vector<Image> kept;
      for (auto& img : images) {
        auto [name, digest] = SplitRepoDigest(ToVector(img.repo_digests()));
        if (::regexec(&re, name.c_str(), 0, nullptr, 0) == 0 || name == v) {
          kept.push_back(std::move(img));
        }
      }
      ::regfree(&re);
      images = std::move(kept);
    } else {
      return InvalidArgument("unknown filter flag: " + filter);
    }
  }
  return images;
}

void AddImagesCommands(CLI::App& root, CommandList& commands) {
  auto flags = std::make_shared<ImagesFlags>();
  CLI::App* app = root.add_subcommand("images", "List images");
  app->alias("image");
  app->alias("img");
  app->add_option("repository", flags->args, "[REPOSITORY[:TAG]]");
  app->add_flag("-v,--verbose", flags->verbose, "Show verbose info for images");
  app->add_flag("-q,--quiet", flags->quiet, "Only show image IDs");
  app->add_option("-f,--filter", flags->filters,
                  "Filter output based on provided conditions. Available filters: "
                  "dangling=(true|false), reference=/regular expression/, "
                  "before=<image-name>[:<tag>]|<image id>|<image@digest>, since=<same>. "
                  "Multiple filters can be combined together.")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app->add_option("-o,--output", flags->output, "Output format, One of: json|yaml|table");
  app->add_flag("--digests", flags->digests, "Show digests");
  app->add_flag("--no-trunc", flags->no_trunc, "Show output without truncating the ID");
  app->add_flag("--pinned", flags->pinned, "Show whether the image is pinned or not");
  commands.push_back({app, [flags, app](Context& ctx) { return RunImages(ctx, *flags, app); }});
}

}  // namespace berth::cli
