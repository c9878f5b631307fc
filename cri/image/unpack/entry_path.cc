#include "cri/image/unpack/entry_path.h"

#include <climits>
#include <cstdio>
#include <vector>

namespace berth {

Result<std::string> CleanEntryPath(std::string_view name) {
  if (name.empty()) return InvalidArgument("empty name");
  if (name.find('\0') != std::string_view::npos) return InvalidArgument("name contains NUL");
  if (name.size() >= PATH_MAX) {
    return InvalidArgument("name is " + std::to_string(name.size()) + " bytes long (limit " +
                           std::to_string(PATH_MAX - 1) + ")");
  }
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i <= name.size()) {
    size_t j = name.find('/', i);
    if (j == std::string_view::npos) j = name.size();
    std::string_view c = name.substr(i, j - i);
    i = j + 1;
    if (c.empty() || c == ".") continue;
    if (c == "..") {
      if (parts.empty()) return InvalidArgument("path climbs above the layer root");
      parts.pop_back();
      continue;
    }
    parts.push_back(c);
  }
  std::string out;
  for (std::string_view p : parts) {
    if (!out.empty()) out += '/';
    out += p;
  }
  return out;
}

std::string QuoteName(std::string_view name) {
  // Long enough to recognise the entry, short enough that a 40 KB name cannot flood a log.
  constexpr size_t kMaxShown = 256;
  std::string out = "\"";
  for (unsigned char c : name.substr(0, kMaxShown)) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  if (name.size() > kMaxShown) out += "... (" + std::to_string(name.size()) + " bytes)";
  return out;
}

std::pair<std::string_view, std::string_view> SplitDirBase(std::string_view clean) {
  size_t slash = clean.rfind('/');
  if (slash == std::string_view::npos) return {std::string_view(), clean};
  return {clean.substr(0, slash), clean.substr(slash + 1)};
}

std::string JoinPath(std::string_view dir, std::string_view name) {
  std::string out(dir);
  if (!out.empty()) out += '/';
  out += name;
  return out;
}

}  // namespace berth
