#include "plugins/network/cni/cni_config.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>

#include "common/fs.h"
#include "common/json_reader.h"

namespace berth::cni {

bool ValidInterfaceName(std::string_view name) {
  if (name.empty() || name.size() > 15 || name == "." || name == "..") return false;
  for (char c : name) {
    if (c == '/' || c == ':' || std::isspace(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

Result<PluginConfig> ParsePluginConfig(std::string_view json_text) {
  Result<nlohmann::json> doc = ParseJson(json_text.empty() ? "{}" : json_text, "cni config");
  if (!doc.ok()) return doc.status();
  if (!doc->is_object()) return InvalidArgument("cni config: expected a JSON object");
  PluginConfig cfg;
  JsonObjectReader r(*doc, "cni");
  r.Get("conf_dir", cfg.conf_dir);
  r.Get("bin_dirs", cfg.bin_dirs);
  r.Get("cache_dir", cfg.cache_dir);
  r.Get("interface", cfg.interface);
  BERTH_RETURN_IF_ERROR(r.Finish());
  auto absolute = [](const std::string& p) { return !p.empty() && p[0] == '/'; };
  if (!absolute(cfg.conf_dir)) return InvalidArgument("cni.conf_dir: must be an absolute path");
  if (cfg.bin_dirs.empty()) return InvalidArgument("cni.bin_dirs: must not be empty");
  for (const auto& d : cfg.bin_dirs) {
    if (!absolute(d)) return InvalidArgument("cni.bin_dirs: \"" + d + "\" is not absolute");
  }
  if (!cfg.cache_dir.empty() && !absolute(cfg.cache_dir)) {
    return InvalidArgument("cni.cache_dir: must be an absolute path");
  }
  if (!ValidInterfaceName(cfg.interface)) {
    return InvalidArgument("cni.interface: \"" + cfg.interface +
                           "\" is not a valid interface name");
  }
  return cfg;
}

int CompareVersions(std::string_view a, std::string_view b) {
  auto next = [](std::string_view& s) {
    long v = 0;
    while (!s.empty() && std::isdigit(static_cast<unsigned char>(s[0]))) {
      v = v * 10 + (s[0] - '0');
      s.remove_prefix(1);
    }
    if (!s.empty()) s.remove_prefix(1);  // the dot (or anything else)
    return v;
  };
  for (int i = 0; i < 3; ++i) {
    long x = next(a), y = next(b);
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

bool KnownCniVersion(std::string_view v) {
  for (const char* k : {"0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"}) {
    if (v == k) return true;
  }
  return false;
}

nlohmann::json NetworkList::ToJson() const {
  nlohmann::json j = {{"name", name}, {"cniVersion", cni_version}, {"plugins", plugins}};
  if (disable_check) j["disableCheck"] = true;
  if (disable_gc) j["disableGC"] = true;
  return j;
}

Result<NetworkList> NetworkList::FromJson(const nlohmann::json& j, std::string source) {
  auto bad = [&](const std::string& why) { return InvalidArgument(source + ": " + why); };
  if (!j.is_object()) return bad("not a JSON object");
  NetworkList l;
  l.source = std::move(source);
  if (!j.contains("name") || !j["name"].is_string() || j["name"].get<std::string>().empty()) {
    return bad("missing \"name\"");
  }
  l.name = j["name"].get<std::string>();
  // CNI 1.1: "cniVersions" lists every version the config supports; pick the highest we know.
  if (j.contains("cniVersions") && j["cniVersions"].is_array()) {
    for (const auto& v : j["cniVersions"]) {
      if (v.is_string() && KnownCniVersion(v.get<std::string>()) &&
          (l.cni_version.empty() || CompareVersions(v.get<std::string>(), l.cni_version) > 0)) {
        l.cni_version = v.get<std::string>();
      }
    }
  }
  if (l.cni_version.empty()) {
    if (!j.contains("cniVersion") || !j["cniVersion"].is_string())
      return bad("missing \"cniVersion\"");
    l.cni_version = j["cniVersion"].get<std::string>();
  }
  if (!KnownCniVersion(l.cni_version))
    return bad("unsupported cniVersion \"" + l.cni_version + "\"");
  auto flag = [&](const char* k) { return j.contains(k) && j[k].is_boolean() && j[k].get<bool>(); };
  l.disable_check = flag("disableCheck");
  l.disable_gc = flag("disableGC");
  if (!j.contains("plugins") || !j["plugins"].is_array() || j["plugins"].empty()) {
    return bad("\"plugins\" must be a non-empty array");
  }
  for (const auto& p : j["plugins"]) {
    if (!p.is_object() || !p.contains("type") || !p["type"].is_string() ||
        p["type"].get<std::string>().empty()) {
      return bad("every plugin needs a \"type\"");
    }
    const std::string type = p["type"].get<std::string>();
    if (type.find('/') != std::string::npos || type == "." || type == "..") {
      return bad("invalid plugin type \"" + type + "\"");
    }
    l.plugins.push_back(p);
  }
  return l;
}

Result<NetworkList> ParseNetworkFile(std::string_view text, const std::string& path) {
  Result<nlohmann::json> doc = ParseJson(text, path);
  if (!doc.ok()) return doc.status();
  const bool is_list = path.size() >= 9 && path.compare(path.size() - 9, 9, ".conflist") == 0;
  if (is_list || (doc->is_object() && doc->contains("plugins"))) {
    return NetworkList::FromJson(*doc, path);
  }
  if (!doc->is_object()) return InvalidArgument(path + ": not a JSON object");
  // A single plugin config: the list takes its name and version; the plugin keeps everything.
  nlohmann::json list = {{"plugins", nlohmann::json::array({*doc})}};
  for (const char* k : {"name", "cniVersion"}) {
    if (doc->contains(k)) list[k] = (*doc)[k];
  }
  return NetworkList::FromJson(list, path);
}

ConfigWatcher::Stamp ConfigWatcher::StampOf(const std::string& path) {
  Stamp s;
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    s.mtime = st.st_mtim;
    s.size = st.st_size;
  }
  return s;
}

Result<NetworkList> ConfigWatcher::Current() {
  bool changed = !loaded_ || !(StampOf(dir_) == dir_stamp_);
  for (size_t i = 0; !changed && i < files_.size(); ++i) {
    changed = !(StampOf(files_[i].first) == files_[i].second);
  }
  if (changed) Reload();
  if (list_) return *list_;
  return FailedPrecondition(why_not_);
}

void ConfigWatcher::Reload() {
  loaded_ = true;
  dir_stamp_ = StampOf(dir_);
  files_.clear();
  list_.reset();
  std::vector<std::string> names;
  if (DIR* d = ::opendir(dir_.c_str())) {
    while (struct dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      auto ends = [&](const char* suf) {
        size_t l = std::char_traits<char>::length(suf);
        return n.size() > l && n.compare(n.size() - l, l, suf) == 0;
      };
      if (ends(".conflist") || ends(".conf") || ends(".json")) names.push_back(n);
    }
    ::closedir(d);
  } else {
    why_not_ = "no network config: cannot read CNI config directory " + dir_;
    return;
  }
  std::sort(names.begin(), names.end());
  std::string rejected;
  for (const auto& n : names) {
    std::string path = dir_ + "/" + n;
    files_.emplace_back(path, StampOf(path));
    Result<std::string> text = ReadFile(path);
    Result<NetworkList> l =
        text.ok() ? ParseNetworkFile(*text, path) : Result<NetworkList>(text.status());
    if (!l.ok()) {
      rejected += "; skipped " + l.status().message();
      continue;
    }
    list_ = std::move(l).value();
    return;
  }
  why_not_ = "no valid CNI network config found in " + dir_ + rejected;
}

}  // namespace berth::cni
