#pragma once
// One image as berthd's image store keeps it: what CRI reports (id, tags, digests, size, the
// parts of the image config kubelet reads) and what garbage collection needs (every content
// blob and every committed snapshot it references). Serialised as a small JSON document.
// Plain value, thread-compatible.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace berth::image {

// The runtime-relevant part of an OCI/Docker image config ("config" object).
struct ImageConfigInfo {
  std::string user;
  std::vector<std::string> env;
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::string working_dir;
  std::string stop_signal;
  std::vector<std::string> exposed_ports;  // "80/tcp"
  std::vector<std::string> volumes;        // "/data"
  std::map<std::string, std::string> labels;
  std::vector<std::string> diff_ids;  // rootfs.diff_ids, lowest layer first
};

// Parses an image config document. INVALID_ARGUMENT when it is not a JSON object or lacks
// rootfs.diff_ids; wrongly typed optional fields are ignored (registries hold odd configs).
Result<ImageConfigInfo> ParseImageConfig(const std::string& json_text);

struct ImageRecord {
  std::string id;                         // config digest "sha256:…"
  std::vector<std::string> repo_tags;     // "docker.io/library/busybox:latest"
  std::vector<std::string> repo_digests;  // "docker.io/library/busybox@sha256:…"
  int64_t size = 0;                       // manifest + config + compressed layers (containerd)
  std::string manifest_digest;
  std::vector<std::string> blobs;  // every content blob: index?, manifest, config, layers
  // snapshotter name → committed snapshot names (chain ids), lowest layer first.
  std::map<std::string, std::vector<std::string>> snapshots;
  ImageConfigInfo config;
  bool pinned = false;
  int64_t updated_unix_nano = 0;  // decides which record keeps a tag after a crash

  nlohmann::json ToJson() const;
  static Result<ImageRecord> FromJson(const nlohmann::json& j);
};

// The OCI chain ids of a list of diff_ids: chain[0] = diff[0],
// chain[i] = sha256(chain[i-1] + " " + diff[i]).
std::vector<std::string> ChainIds(const std::vector<std::string>& diff_ids);

}  // namespace berth::image
