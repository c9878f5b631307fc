#pragma once
// berthctl images (aliases image, img): crictl's image listing — table, -q, -v, json/yaml.

#include <string>
#include <vector>

#include "api/cri.h"
#include "cli/command.h"

namespace berth::cli {

void AddImagesCommands(CLI::App& root, CommandList& commands);

struct ImagesTableOptions {
  bool digests = false;   // DIGEST column
  bool no_trunc = false;  // full ids and digests
  bool pinned = false;    // PINNED column
};

// The table crictl prints: IMAGE TAG [DIGEST] IMAGE ID SIZE [PINNED], a row per repo tag.
std::string FormatImagesTable(const std::vector<::runtime::v1::Image>& images,
                              const ImagesTableOptions& options);

// -v: "ID: …", "RepoTags: …", "RepoDigests: …", "Size: …", "Uid: value:N", "Username: …",
// "Pinned: true", then a blank line, per image.
std::string FormatImagesVerbose(const std::vector<::runtime::v1::Image>& images);

// crictl's --filter: dangling=true|false, reference=<regex>, before=<ref|id|name@digest>,
// since=<…>; several apply in turn. INVALID_ARGUMENT for an unknown filter or a bad regex.
Result<std::vector<::runtime::v1::Image>> FilterImages(std::vector<::runtime::v1::Image> images,
                                                       const std::vector<std::string>& filters);

}  // namespace berth::cli
