#include "cri/image/snapshotter_client.h"

namespace berth::image {

using namespace ::berth::plugin::v1;  // NOLINT(google-build-using-namespace): message names

Result<std::vector<Mount>> SnapshotterClient::Prepare(const std::string& key,
                                                      const std::string& parent) {
  PrepareSnapshotRequest req;
  req.set_key(key);
  req.set_parent(parent);
  (*req.mutable_labels())["io.berth.image/unpack"] = "true";
  PrepareSnapshotResponse resp;
  BERTH_RETURN_IF_ERROR(handle_->Invoke("Prepare", req, &resp));
  return std::vector<Mount>(resp.mounts().begin(), resp.mounts().end());
}

Result<std::vector<Mount>> SnapshotterClient::View(
    const std::string& key, const std::string& parent,
    const std::map<std::string, std::string>& labels) {
  ViewSnapshotRequest req;
  req.set_key(key);
  req.set_parent(parent);
  for (const auto& [k, v] : labels) (*req.mutable_labels())[k] = v;
  ViewSnapshotResponse resp;
  BERTH_RETURN_IF_ERROR(handle_->Invoke("View", req, &resp));
  return std::vector<Mount>(resp.mounts().begin(), resp.mounts().end());
}

Status SnapshotterClient::Commit(const std::string& name, const std::string& key) {
  CommitSnapshotRequest req;
  req.set_name(name);
  req.set_key(key);
  (*req.mutable_labels())["io.berth.image/layer"] = "true";
  CommitSnapshotResponse resp;
  return handle_->Invoke("Commit", req, &resp);
}

Status SnapshotterClient::Remove(const std::string& key) {
  RemoveSnapshotRequest req;
  req.set_key(key);
  RemoveSnapshotResponse resp;
  return handle_->Invoke("Remove", req, &resp);
}

Result<std::vector<SnapshotInfo>> SnapshotterClient::Walk() {
  WalkSnapshotsRequest req;
  WalkSnapshotsResponse resp;
  BERTH_RETURN_IF_ERROR(handle_->Invoke("Walk", req, &resp));
  return std::vector<SnapshotInfo>(resp.snapshots().begin(), resp.snapshots().end());
}

Result<SnapshotUsageResponse> SnapshotterClient::Usage(const std::string& key) {
  SnapshotUsageRequest req;
  req.set_key(key);
  SnapshotUsageResponse resp;
  BERTH_RETURN_IF_ERROR(handle_->Invoke("Usage", req, &resp));
  return resp;
}

Result<bool> SnapshotterClient::HasCommitted(const std::string& name) {
  auto all = Walk();
  if (!all.ok()) return all.status();
  for (const SnapshotInfo& s : *all) {
    if (s.name() == name) return s.kind() == SNAPSHOT_KIND_COMMITTED;
  }
  return false;
}

}  // namespace berth::image
