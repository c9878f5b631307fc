#pragma once
// Image references, normalised the way Docker and containerd do it:
//   busybox                    → docker.io/library/busybox:latest
//   user/repo                  → docker.io/user/repo:latest
//   index.docker.io/x/y:1      → docker.io/x/y:1
//   host:5000/repo:tag         → host:5000/repo:tag
//   localhost/repo             → localhost/repo:latest
//   repo@sha256:<hex>          → docker.io/library/repo@sha256:<hex>   (no tag added)
//   repo:tag@sha256:<hex>      → keeps both; the digest is what gets pulled
//
// Grammar (distribution/reference): name components [a-z0-9]+ joined by "." "_" "__" or runs of
// "-", separated by "/"; the first component is a registry domain when it contains "." or ":"
// or is "localhost" (or has uppercase letters, which makes it invalid as a path); total name
// at most 255 characters; tag [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}; digest as in digest.h.
// Plain values, thread-compatible.

#include <string>
#include <string_view>

#include "common/status.h"
#include "cri/image/digest.h"

namespace berth::image {

struct Reference {
  std::string domain;  // "docker.io", "registry.example.com:5000", "localhost", "[::1]:5000"
  std::string path;    // "library/busybox"
  std::string tag;     // "" only when a digest is given without a tag
  Digest digest;       // !valid() when none

  // "docker.io/library/busybox"
  std::string Name() const { return domain + "/" + path; }
  // The full normalised form: name[:tag][@digest].
  std::string String() const;
  // What to ask the registry for: the digest when there is one, else the tag.
  std::string Target() const { return digest.valid() ? digest.String() : tag; }

  friend bool operator==(const Reference&, const Reference&) = default;
};

// Parses and normalises `text`. INVALID_ARGUMENT naming the problem, e.g.
//   invalid reference "Busybox": repository name must be lowercase
Result<Reference> ParseReference(std::string_view text);

// The host[:port] to contact for a reference domain: "docker.io" → "registry-1.docker.io";
// everything else unchanged.
std::string RegistryHostFor(std::string_view domain);

}  // namespace berth::image
