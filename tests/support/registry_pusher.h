#pragma once
// Pushes an OCI image layout directory (as written by scripts/make-test-images) into a registry
// over the distribution API: each blob by POST /blobs/uploads/ + monolithic PUT ?digest=, then
// the image manifest by tag. Optionally also pushes the layout's index under another tag (so
// tests can pull through platform selection). libcurl via berth's PerformHttp; no auth logic
// beyond a fixed Authorization header. Not thread-safe.

#include <string>

#include "common/status.h"
#include "cri/image/registry/http.h"

namespace berth::testing {

struct PushTarget {
  std::string base_url;       // "http://127.0.0.1:5000"
  std::string repository;     // "library/busybox"
  std::string tag;            // for the image manifest
  std::string index_tag;      // "" = do not push the index
  std::string authorization;  // full header value ("Basic …"), optional
  image::registry::TlsSettings tls;
};

// Returns the pushed manifest's digest ("sha256:…").
Result<std::string> PushOciLayout(const std::string& layout_dir, const PushTarget& target);

}  // namespace berth::testing
