#pragma once
// Small pieces the image verbs share, each spelled the way crictl spells it so that berthctl's
// tables read the same: sizes (docker/go-units), truncated ids, IMAGE/TAG columns from repo
// tags and digests, crictl's listing order, and registry credentials from the pull flags.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <google/protobuf/map.h>
#include <nlohmann/json.hpp>

#include "api/cri.h"
#include "common/status.h"

namespace berth::cli {

// go-units' HumanSizeWithPrecision: decimal units (B, kB, MB, GB, TB, PB, EB, ZB, YB) with
// `precision` significant digits, printf's %g ("1.21MB", "796kB", "0B", "1e+03kB").
// crictl uses precision 3 for image sizes and 4 (HumanSize) for filesystem usage.
std::string HumanSize(double bytes, int precision = 4);

// crictl's getTruncatedID: `id` without `prefix`, cut to 13 characters.
std::string TruncateId(std::string_view id, std::string_view prefix = "sha256:");

// The IMAGE name and DIGEST of an image from its first repo digest ("repo@sha256:…" →
// {"repo", "sha256:…"}); {"<none>", "<none>"} without one; {"errorName", "errorRepoDigest"}
// for a malformed one (crictl's normalizeRepoDigest).
std::pair<std::string, std::string> SplitRepoDigest(const std::vector<std::string>& repo_digests);

// One {IMAGE, TAG} row per repo tag, split at the last ':'; {image_name, "<none>"} when there
// are no tags (an image pulled by digest); {"errorRepoTag", "errorRepoTag"} for a tag without
// ':' (crictl's normalizeRepoTagPair).
std::vector<std::pair<std::string, std::string>> RepoTagPairs(
    const std::vector<std::string>& repo_tags, const std::string& image_name);

// Sorts images as crictl lists them: by first repo tag when both have one, else by first repo
// digest when both have one, else by id. Stable, so equal images keep the server's order.
void SortImagesLikeCrictl(std::vector<::runtime::v1::Image>& images);

// The pull flags that carry credentials, as given (empty = not given).
struct CredentialFlags {
  std::string creds;     // --creds USERNAME[:PASSWORD]
  std::string auth;      // --auth BASE64
  std::string username;  // --username/-u (the password is asked for)
};

// crictl's getAuth, minus the password prompt: --creds and --auth together are an error;
// --creds "user[:pass]" (an empty user is an error); --auth passed through as AuthConfig.auth.
// nullopt when no credentials were given. `password` is the prompted password, used with
// --username (which wins over the others, as in crictl).
Result<std::optional<::runtime::v1::AuthConfig>> BuildAuthConfig(
    const CredentialFlags& flags, const std::optional<std::string>& password = std::nullopt);

// One entry of crictl's outputStatusData (inspecti, imagefsinfo): {"status": <status>} plus
// each verbose info entry under its key — parsed when it starts with '{' (INVALID_ARGUMENT if
// that is not a JSON object), otherwise the string with surrounding double quotes trimmed.
Result<nlohmann::json> StatusDataJson(const nlohmann::json& status,
                                      const google::protobuf::Map<std::string, std::string>& info);

// crictl prints a single entry as an object and several as an array.
nlohmann::json StatusDataList(std::vector<nlohmann::json> entries);

// Go's %v of a map[string]string: "map[k1:v1 k2:v2]", keys sorted.
std::string GoMapString(const google::protobuf::Map<std::string, std::string>& map);

// Whether an RPC failed because the server does not implement it (a CRI runtime that is not
// berthd, or an older berthd).
bool IsUnimplemented(const Status& status);

}  // namespace berth::cli
