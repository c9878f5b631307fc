#pragma once
// OCI and Docker schema 2 manifests and indexes (manifest lists), and platform selection.
//
// Parse() accepts exactly the four media types below (the Content-Type from the registry wins;
// when it is missing or generic the document's own "mediaType" decides), refuses Docker
// schema 1 (UNIMPLEMENTED), documents over kMaxManifestSize (RESOURCE_EXHAUSTED), and anything
// malformed (INVALID_ARGUMENT naming the field). Plain values, thread-compatible.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/status.h"
#include "cri/image/digest.h"

namespace berth::image {

namespace media_type {
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
}  // namespace media_type

// The Accept header value for manifest requests: all four types.
std::string ManifestAcceptHeader();

inline constexpr int64_t kMaxManifestSize = int64_t{4} << 20;

struct Platform {
  std::string os;              // "linux"
  std::string architecture;    // "amd64", "arm64", "arm", ...
  std::string variant;         // "v8", "v7", "" ...
  std::string String() const;  // "linux/arm64/v8"
  friend bool operator==(const Platform&, const Platform&) = default;
};

// linux + this machine's architecture (GOARCH spelling) and variant (arm64 → v8).
Platform HostPlatform();
// Parses "os/arch[/variant]"; INVALID_ARGUMENT otherwise.
Result<Platform> ParsePlatform(std::string_view text);

struct Descriptor {
  std::string media_type;
  Digest digest;
  int64_t size = 0;
  std::optional<Platform> platform;  // index entries only
};

struct ImageManifest {
  std::string media_type;
  Descriptor config;
  std::vector<Descriptor> layers;
};

struct ImageIndex {
  std::string media_type;
  std::vector<Descriptor> manifests;
};

using ParsedManifest = std::variant<ImageManifest, ImageIndex>;

// `content_type` is the registry's Content-Type header ("" when absent).
Result<ParsedManifest> ParseManifest(std::string_view body, std::string_view content_type);

// True for layer media types berth can unpack (OCI/Docker tar, gzip, zstd).
bool IsSupportedLayerType(std::string_view media_type);

// Picks the manifest for `want` from an index: an exact os/arch/variant match first, then a
// compatible one (missing variant; for arm, a lower variant; amd64 variants are ignored).
// NOT_FOUND listing the platforms the index has when none fits.
Result<Descriptor> SelectPlatform(const ImageIndex& index, const Platform& want);

}  // namespace berth::image
