#include "cli/verbs/rmi.h"

#include <map>
#include <memory>

#include "cli/verbs/image_util.h"

namespace berth::cli {
namespace {

struct RmiFlags {
  std::vector<std::string> ids;
  bool all = false, prune = false;
};

// The images to remove, in order (arguments first, then listed ones), each once; an entry's
// bool is false when --prune found it in use.
class Selection {
 public:
  void Set(const std::string& id, bool remove) {
    auto [it, inserted] = remove_.try_emplace(id, remove);
    if (inserted) {
      order_.push_back(id);
    } else {
      it->second = remove;
    }
  }
  std::vector<std::string> ToRemove() const {
    std::vector<std::string> out;
    for (const auto& id : order_) {
      if (remove_.at(id)) out.push_back(id);
    }
    return out;
  }
  bool empty() const { return order_.empty(); }

 private:
  std::vector<std::string> order_;
  std::map<std::string, bool> remove_;
};

Result<::runtime::v1::ImageStatusResponse> ImageStatus(Context& ctx, const std::string& image) {
  ::runtime::v1::ImageStatusRequest request;
  request.mutable_image()->set_image(image);
  return ctx.connection.Call(ctx.connection.Image(),
                             &::runtime::v1::ImageService::Stub::ImageStatus, request);
}

// Errors that do not stop the verb are reported one line each, as crictl logs them.
void ReportError(Context& ctx, const std::string& message) {
  ctx.err << "berthctl: " << message << "\n";
}

// --prune: images some container uses are kept. A runtime without containers (ListContainers
// unimplemented, e.g. an image-only endpoint) uses none.
Status ExcludeImagesInUse(Context& ctx, Selection& selection) {
  auto containers = ctx.connection.Call(ctx.connection.Runtime(),
                                        &::runtime::v1::RuntimeService::Stub::ListContainers,
                                        ::runtime::v1::ListContainersRequest());
  if (!containers.ok()) {
    if (IsUnimplemented(containers.status())) {
      ctx.debug("ListContainers is not implemented: no image is in use");
      return OkStatus();
    }
    return containers.status().Wrap("listing containers");
  }
  for (const auto& c : containers->containers()) {
    const std::string& image = c.image().image();
    auto status = ImageStatus(ctx, image);
    if (!status.ok()) {
      ReportError(
          ctx, "image status request for \"" + image + "\" failed: " + status.status().message());
      continue;
    }
    ctx.debug("Excluding in use container image: " + status->image().id());
    selection.Set(status->image().id(), false);
  }
  return OkStatus();
}

Status RunRmi(Context& ctx, const RmiFlags& flags, CLI::App* app) {
  Selection selection;
  for (const std::string& id : flags.ids) selection.Set(id, true);
  if (flags.all || flags.prune) {
    auto listed =
        ctx.connection.Call(ctx.connection.Image(), &::runtime::v1::ImageService::Stub::ListImages,
                            ::runtime::v1::ListImagesRequest());
    if (!listed.ok()) return listed.status().Wrap("listing images");
    for (const auto& img : listed->images()) {
      if (flags.prune && img.pinned()) {
        ctx.debug("Excluding pinned container image: " + img.id());
        continue;
      }
      selection.Set(img.id(), true);
    }
  }
  if (flags.prune) BERTH_RETURN_IF_ERROR(ExcludeImagesInUse(ctx, selection));

  if (selection.empty()) {
    if (flags.all || flags.prune) {
      ctx.err << "No images to remove\n";
      return OkStatus();
    }
    ctx.out << app->help();
    return OkStatus();
  }

  bool errored = false;
  for (const std::string& id : selection.ToRemove()) {
    auto status = ImageStatus(ctx, id);
    if (!status.ok()) {
      ReportError(ctx,
                  "image status request for \"" + id + "\" failed: " + status.status().message());
      errored = true;
      continue;
    }
    if (!status->has_image()) {
      ReportError(ctx, "no such image " + id);
      errored = true;
      continue;
    }
    ::runtime::v1::RemoveImageRequest request;
    request.mutable_image()->set_image(id);
    auto removed = ctx.connection.Call(ctx.connection.Image(),
                                       &::runtime::v1::ImageService::Stub::RemoveImage, request);
    if (!removed.ok()) {
      // On prune another client may have raced us; crictl ignores those failures.
      if (!flags.prune) {
        ReportError(ctx, "error of removing image \"" + id + "\": " + removed.status().message());
        errored = true;
      }
      continue;
    }
    // An image pulled by digest has no tags: its digests say what was deleted.
    const auto& names = status->image().repo_tags_size() > 0 ? status->image().repo_tags()
                                                             : status->image().repo_digests();
    for (const auto& name : names) ctx.out << "Deleted: " << name << "\n";
  }
  if (errored) return Status(StatusCode::kUnknown, "unable to remove the image(s)");
  return OkStatus();
}

}  // namespace

void AddRmiCommands(CLI::App& root, CommandList& commands) {
  auto flags = std::make_shared<RmiFlags>();
  CLI::App* app = root.add_subcommand("rmi", "Remove one or more images");
  app->add_option("image", flags->ids, "IMAGE-ID [IMAGE-ID...]");
  app->add_flag("-a,--all", flags->all, "Remove all images");
  app->add_flag("-q,--prune", flags->prune, "Remove all unused images");
  commands.push_back({app, [flags, app](Context& ctx) { return RunRmi(ctx, *flags, app); }});
}

}  // namespace berth::cli
