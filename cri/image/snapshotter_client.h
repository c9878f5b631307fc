#pragma once
// Typed calls to one io.berth.snapshotter.v1 plugin through the PluginHost (C ABI + protobuf
// payloads, api/proto/berth/plugin/v1/snapshotter.proto). The plugin returns mount
// descriptions; mounting is the caller's business (layer_mount.h).
// Thread-safe as PluginHandle::Invoke is; borrows the handle, which lives as long as the host.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "berth/plugin/v1/snapshotter.pb.h"
#include "common/status.h"
#include "cri/plugin_host/plugin_handle.h"

namespace berth::image {

class SnapshotterClient {
 public:
  SnapshotterClient(const PluginHandle* handle, std::string name)
      : handle_(handle), name_(std::move(name)) {}

  const std::string& name() const { return name_; }

  Result<std::vector<plugin::v1::Mount>> Prepare(const std::string& key, const std::string& parent);
  // A read-only view of committed `parent` under `key` (removed with Remove like any snapshot).
  Result<std::vector<plugin::v1::Mount>> View(
      const std::string& key, const std::string& parent,
      const std::map<std::string, std::string>& labels = {});
  Status Commit(const std::string& name, const std::string& key);
  Status Remove(const std::string& key);
  Result<std::vector<plugin::v1::SnapshotInfo>> Walk();
  // NOT_FOUND when `key` does not exist.
  Result<plugin::v1::SnapshotUsageResponse> Usage(const std::string& key);
  // True when `name` exists as a committed snapshot.
  Result<bool> HasCommitted(const std::string& name);

 private:
  const PluginHandle* handle_;
  std::string name_;
};

}  // namespace berth::image
