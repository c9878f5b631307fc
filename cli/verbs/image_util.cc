#include "cli/verbs/image_util.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <map>

namespace berth::cli {

std::string HumanSize(double bytes, int precision) {
  static constexpr std::array<const char*, 9> kUnits = {"B",  "kB", "MB", "GB", "TB",
                                                        "PB", "EB", "ZB", "YB"};
  size_t unit = 0;
  while (bytes >= 1000.0 && unit + 1 < kUnits.size()) {
    bytes /= 1000.0;
    ++unit;
  }
  // Go's %.*g and C's agree (shortest of %e/%f, trailing zeros removed, 2-digit exponent).
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g%s", precision, bytes, kUnits[unit]);
  return buf;
}

std::string TruncateId(std::string_view id, std::string_view prefix) {
  constexpr size_t kTruncatedIdLen = 13;
  if (id.substr(0, prefix.size()) == prefix) id.remove_prefix(prefix.size());
  return std::string(id.substr(0, kTruncatedIdLen));
}

std::pair<std::string, std::string> SplitRepoDigest(const std::vector<std::string>& repo_digests) {
  if (repo_digests.empty()) return {"<none>", "<none>"};
  const std::string& d = repo_digests.front();
  size_t at = d.find('@');
  if (at == std::string::npos || d.find('@', at + 1) != std::string::npos) {
    return {"errorName", "errorRepoDigest"};
  }
  return {d.substr(0, at), d.substr(at + 1)};
}

std::vector<std::pair<std::string, std::string>> RepoTagPairs(
    const std::vector<std::string>& repo_tags, const std::string& image_name) {
  std::vector<std::pair<std::string, std::string>> pairs;
  if (repo_tags.empty()) {
    pairs.emplace_back(image_name, "<none>");
    return pairs;
  }
  for (const std::string& t : repo_tags) {
    size_t colon = t.rfind(':');
    if (colon == std::string::npos) {
      pairs.emplace_back("errorRepoTag", "errorRepoTag");
      continue;
    }
    std::string name = t.substr(0, colon);
    if (name == "<none>") name = image_name;
    pairs.emplace_back(std::move(name), t.substr(colon + 1));
  }
  return pairs;
}

void SortImagesLikeCrictl(std::vector<::runtime::v1::Image>& images) {
  // Not a strict weak order when images mix tagged and untagged ones (neither is crictl's);
  // libstdc++'s stable_sort stays in bounds with any deterministic comparison.
  std::stable_sort(images.begin(), images.end(),
                   [](const ::runtime::v1::Image& a, const ::runtime::v1::Image& b) {
                     if (a.repo_tags_size() > 0 && b.repo_tags_size() > 0) {
                       return a.repo_tags(0) < b.repo_tags(0);
                     }
                     if (a.repo_digests_size() > 0 && b.repo_digests_size() > 0) {
                       return a.repo_digests(0) < b.repo_digests(0);
                     }
                     return a.id() < b.id();
                   });
}

Result<std::optional<::runtime::v1::AuthConfig>> BuildAuthConfig(
    const CredentialFlags& flags, const std::optional<std::string>& password) {
  ::runtime::v1::AuthConfig auth;
  if (!flags.username.empty()) {
    auth.set_username(flags.username);
    auth.set_password(password.value_or(""));
    return std::optional(auth);
  }
  if (!flags.creds.empty() && !flags.auth.empty()) {
    return InvalidArgument("both `--creds` and `--auth` are specified");
  }
  if (!flags.creds.empty()) {
    size_t colon = flags.creds.find(':');
    if (colon == std::string::npos) {
      auth.set_username(flags.creds);
    } else {
      if (colon == 0) return InvalidArgument("username can't be empty");
      auth.set_username(flags.creds.substr(0, colon));
      auth.set_password(flags.creds.substr(colon + 1));
    }
    return std::optional(auth);
  }
  if (!flags.auth.empty()) {
    auth.set_auth(flags.auth);
    return std::optional(auth);
  }
  return std::optional<::runtime::v1::AuthConfig>();
}

Result<nlohmann::json> StatusDataJson(const nlohmann::json& status,
                                      const google::protobuf::Map<std::string, std::string>& info) {
  nlohmann::json out = nlohmann::json::object();
  out["status"] = status;
  std::map<std::string, std::string> sorted(info.begin(), info.end());
  for (const auto& [key, value] : sorted) {
    if (!value.empty() && value.front() == '{') {
      auto parsed = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
      if (parsed.is_discarded() || !parsed.is_object()) {
        return InvalidArgument("unmarshal status info JSON: info \"" + key +
                               "\" is not a JSON object");
      }
      out[key] = std::move(parsed);
      continue;
    }
    std::string_view v = value;
    while (!v.empty() && v.front() == '"') v.remove_prefix(1);
    while (!v.empty() && v.back() == '"') v.remove_suffix(1);
    out[key] = std::string(v);
  }
  return out;
}

nlohmann::json StatusDataList(std::vector<nlohmann::json> entries) {
  if (entries.size() == 1) return std::move(entries.front());
  nlohmann::json list = nlohmann::json::array();
  for (auto& e : entries) list.push_back(std::move(e));
  return list;
}

std::string GoMapString(const google::protobuf::Map<std::string, std::string>& map) {
  std::map<std::string, std::string> sorted(map.begin(), map.end());
  std::string out = "map[";
  bool first = true;
  for (const auto& [k, v] : sorted) {
    if (!first) out += ' ';
    first = false;
    out += k + ":" + v;
  }
  return out + "]";
}

bool IsUnimplemented(const Status& status) { return status.code() == StatusCode::kUnimplemented; }

}  // namespace berth::cli
