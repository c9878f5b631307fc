#include "cri/image/manifest.h"

#include <sys/utsname.h>

#include <nlohmann/json.hpp>

namespace berth::image {
namespace {

using nlohmann::json;

bool IsManifestType(std::string_view t) {
  return t == media_type::kOciManifest || t == media_type::kDockerManifest;
}
bool IsIndexType(std::string_view t) {
  return t == media_type::kOciIndex || t == media_type::kDockerManifestList;
}

// "application/json; charset=utf-8" → "application/json"
std::string_view BareType(std::string_view ct) {
  size_t semi = ct.find(';');
  if (semi != std::string_view::npos) ct = ct.substr(0, semi);
  while (!ct.empty() && ct.back() == ' ') ct.remove_suffix(1);
  return ct;
}

Result<Descriptor> ParseDescriptor(const json& j, const std::string& where) {
  if (!j.is_object()) return InvalidArgument(where + ": expected an object");
  Descriptor d;
  auto mt = j.find("mediaType");
  if (mt == j.end() || !mt->is_string()) return InvalidArgument(where + ".mediaType: missing");
  d.media_type = mt->get<std::string>();
  auto dg = j.find("digest");
  if (dg == j.end() || !dg->is_string()) return InvalidArgument(where + ".digest: missing");
  auto digest = Digest::Parse(dg->get<std::string>());
  if (!digest.ok()) return digest.status().Wrap(where + ".digest");
  d.digest = *digest;
  auto sz = j.find("size");
  if (sz == j.end() || !sz->is_number_integer() || sz->get<int64_t>() < 0) {
    return InvalidArgument(where + ".size: missing or not a non-negative integer");
  }
  d.size = sz->get<int64_t>();
  if (auto p = j.find("platform"); p != j.end()) {
    if (!p->is_object()) return InvalidArgument(where + ".platform: expected an object");
    Platform pl;
    pl.os = p->value("os", "");
    pl.architecture = p->value("architecture", "");
    pl.variant = p->value("variant", "");
    d.platform = pl;
  }
  return d;
}

// Variant rank for arm ("v6" → 6); 0 when absent or unparsable.
int ArmVariant(const std::string& v) {
  if (v.size() < 2 || v[0] != 'v') return 0;
  try {
    return std::stoi(v.substr(1));
  } catch (...) {
    return 0;
  }
}

}  // namespace

std::string ManifestAcceptHeader() {
  return std::string(media_type::kOciManifest) + ", " + std::string(media_type::kOciIndex) + ", " +
         std::string(media_type::kDockerManifest) + ", " +
         std::string(media_type::kDockerManifestList);
}

std::string Platform::String() const {
  std::string s = os + "/" + architecture;
  if (!variant.empty()) s += "/" + variant;
  return s;
}

Platform HostPlatform() {
  struct utsname u;
  std::string m = ::uname(&u) == 0 ? u.machine : "";
  Platform p{"linux", m, ""};
  if (m == "x86_64")
    p.architecture = "amd64";
  else if (m == "aarch64" || m == "arm64")
    p = {"linux", "arm64", "v8"};
  else if (m == "i386" || m == "i686")
    p.architecture = "386";
  else if (m.rfind("armv", 0) == 0)
    p = {"linux", "arm", "v" + m.substr(4, 1)};
  else if (m == "ppc64le")
    p.architecture = "ppc64le";
  return p;
}

Result<Platform> ParsePlatform(std::string_view text) {
  Platform p;
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t slash = text.find('/', start);
    parts.emplace_back(text.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() || parts[1].empty()) {
    return InvalidArgument("invalid platform \"" + std::string(text) +
                           "\": expected os/architecture[/variant]");
  }
  p.os = parts[0];
  p.architecture = parts[1];
  if (parts.size() == 3) p.variant = parts[2];
  return p;
}

bool IsSupportedLayerType(std::string_view t) {
  static constexpr std::string_view kTypes[] = {
      "application/vnd.oci.image.layer.v1.tar",
      "application/vnd.oci.image.layer.v1.tar+gzip",
      "application/vnd.oci.image.layer.v1.tar+zstd",
      "application/vnd.oci.image.layer.nondistributable.v1.tar",
      "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
      "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
      "application/vnd.docker.image.rootfs.diff.tar.gzip",
      "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
      "application/vnd.docker.image.rootfs.diff.tar",
  };
  for (auto k : kTypes) {
    if (t == k) return true;
  }
  return false;
}

Result<ParsedManifest> ParseManifest(std::string_view body, std::string_view content_type) {
  if (static_cast<int64_t>(body.size()) > kMaxManifestSize) {
    return Status(StatusCode::kResourceExhausted, "manifest is " + std::to_string(body.size()) +
                                                      " bytes; the limit is " +
                                                      std::to_string(kMaxManifestSize));
  }
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return InvalidArgument("manifest is not a JSON object");
  }
  int64_t schema = j.value("schemaVersion", int64_t{0});
  if (schema == 1) {
    return Unimplemented(
        "Docker schema 1 manifests are not supported (the image must be "
        "re-pushed with a current client)");
  }
  std::string type(BareType(content_type));
  std::string doc_type = j.value("mediaType", "");
  if (!IsManifestType(type) && !IsIndexType(type)) {
    // Content-Type absent or generic ("application/json", "application/octet-stream"): the
    // document says what it is; OCI allows an index/manifest without mediaType, so infer from
    // its shape as a last resort.
    if (!doc_type.empty())
      type = doc_type;
    else if (j.contains("manifests"))
      type = media_type::kOciIndex;
    else if (j.contains("config"))
      type = media_type::kOciManifest;
  }
  if (!doc_type.empty() && doc_type != type) {
    return InvalidArgument("manifest mediaType \"" + doc_type + "\" contradicts Content-Type \"" +
                           type + "\"");
  }
  if (schema != 2) {
    return InvalidArgument("manifest schemaVersion must be 2, got " + std::to_string(schema));
  }

  if (IsIndexType(type)) {
    ImageIndex idx;
    idx.media_type = type;
    auto m = j.find("manifests");
    if (m == j.end() || !m->is_array()) return InvalidArgument("index: \"manifests\" missing");
    for (size_t i = 0; i < m->size(); ++i) {
      auto d = ParseDescriptor((*m)[i], "manifests[" + std::to_string(i) + "]");
      if (!d.ok()) return d.status().Wrap("index");
      idx.manifests.push_back(*d);
    }
    return ParsedManifest(std::move(idx));
  }
  if (IsManifestType(type)) {
    ImageManifest man;
    man.media_type = type;
    auto c = j.find("config");
    if (c == j.end()) return InvalidArgument("manifest: \"config\" missing");
    auto cfg = ParseDescriptor(*c, "config");
    if (!cfg.ok()) return cfg.status().Wrap("manifest");
    if (cfg->media_type != media_type::kOciConfig && cfg->media_type != media_type::kDockerConfig) {
      return InvalidArgument("manifest: config media type \"" + cfg->media_type +
                             "\" is not an image config (is this an artifact, not an image?)");
    }
    man.config = *cfg;
    auto l = j.find("layers");
    if (l == j.end() || !l->is_array()) return InvalidArgument("manifest: \"layers\" missing");
    for (size_t i = 0; i < l->size(); ++i) {
      auto d = ParseDescriptor((*l)[i], "layers[" + std::to_string(i) + "]");
      if (!d.ok()) return d.status().Wrap("manifest");
      if (!IsSupportedLayerType(d->media_type)) {
        return Unimplemented("manifest: layers[" + std::to_string(i) +
                             "] has unsupported media "
                             "type \"" +
                             d->media_type + "\"");
      }
      man.layers.push_back(*d);
    }
    return ParsedManifest(std::move(man));
  }
  return InvalidArgument("unsupported manifest media type \"" + type + "\"");
}

Result<Descriptor> SelectPlatform(const ImageIndex& index, const Platform& want) {
  const Descriptor* compatible = nullptr;
  int best_arm = -1;
  std::string available;
  for (const Descriptor& d : index.manifests) {
    if (!IsManifestType(d.media_type) || !d.platform) continue;  // attestations, nested indexes
    const Platform& p = *d.platform;
    available += (available.empty() ? "" : ", ") + p.String();
    if (p.os != want.os || p.architecture != want.architecture) continue;
    if (p.variant == want.variant) return d;
    if (want.architecture == "arm") {
      int v = ArmVariant(p.variant);
      if (v <= ArmVariant(want.variant) && v > best_arm) {
        best_arm = v;
        compatible = &d;
      }
    } else if (!compatible &&
               (p.variant.empty() || want.variant.empty() || want.architecture == "amd64")) {
      compatible = &d;
    }
  }
  if (compatible) return *compatible;
  return NotFound("no manifest for platform " + want.String() +
                  " in the index (it has: " + (available.empty() ? "none" : available) + ")");
}

}  // namespace berth::image
