#pragma once
// berthctl image import PATH [--name REF]: berth-specific (berth.v1.Images/Import). Imports an
// OCI image layout directory or tar, or a `docker save` tarball, that berthd reads on its own
// host; prints what was imported.

#include "cli/command.h"
#include "images.pb.h"

namespace berth::cli {

// Registers `import` under the `images` verb (so `image import` and `images import` work);
// call after AddImagesCommands.
void AddImageImportCommands(CLI::App& root, CommandList& commands);

// One line per imported tag, "Imported <tag> (<id>)", or "Imported <id>" for an untagged one.
std::string FormatImportedImages(const ::berth::v1::ImportImageResponse& response);

}  // namespace berth::cli
