#include "cri/plugin_host/plugin_discovery.h"

#include <algorithm>
#include <filesystem>
#include <set>
#include <system_error>

namespace berth {

namespace fs = std::filesystem;

std::vector<std::string> FindPluginFiles(const std::vector<std::string>& dirs,
                                         const Logger& logger) {
  std::vector<std::string> out;
  std::set<fs::path> seen;  // canonical paths
  for (const std::string& dir : dirs) {
    std::error_code ec;
    fs::file_status st = fs::status(dir, ec);
    if (!fs::exists(st)) {
      logger.Debug("plugin directory does not exist, skipped", {{"dir", dir}});
      continue;
    }
    if (!fs::is_directory(st)) {
      logger.Error("plugin directory is not a directory, skipped", {{"dir", dir}});
      continue;
    }
    std::vector<fs::path> files;
    fs::directory_iterator it(dir, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
      const fs::path& p = it->path();
      std::error_code file_ec;
      if (p.extension() == ".so" && fs::is_regular_file(p, file_ec)) files.push_back(p);
    }
    if (ec) {
      logger.Error("cannot read plugin directory, skipped",
                   {{"dir", dir}, {"error", ec.message()}});
      continue;
    }
    std::sort(files.begin(), files.end(),
              [](const fs::path& a, const fs::path& b) { return a.filename() < b.filename(); });
    for (const fs::path& p : files) {
      std::error_code canon_ec;
      fs::path canonical = fs::canonical(p, canon_ec);
      if (canon_ec) canonical = p;
      if (!seen.insert(canonical).second) {
        logger.Debug("plugin library already found, skipped", {{"path", p.string()}});
        continue;
      }
      out.push_back(p.string());
    }
  }
  return out;
}

}  // namespace berth
