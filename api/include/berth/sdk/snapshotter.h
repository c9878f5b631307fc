#pragma once
// berth::sdk::SnapshotterPlugin: base class of io.berth.snapshotter.v1 plugins. Override the
// methods you support; the others answer UNIMPLEMENTED. Messages and method semantics are in
// berth/plugin/v1/snapshotter.proto. Methods may be called concurrently (see PluginBase).

#include <string>
#include <string_view>

#include "berth/plugin/v1/snapshotter.pb.h"
#include "berth/sdk/plugin_base.h"

namespace berth::sdk {

class SnapshotterPlugin : public PluginBase {
 public:
  static constexpr const char* kPluginType = BERTH_PLUGIN_TYPE_SNAPSHOTTER;

  virtual Status Prepare(const plugin::v1::PrepareSnapshotRequest&,
                         plugin::v1::PrepareSnapshotResponse*) {
    return internal::NotImplemented("Prepare");
  }
  virtual Status View(const plugin::v1::ViewSnapshotRequest&, plugin::v1::ViewSnapshotResponse*) {
    return internal::NotImplemented("View");
  }
  virtual Status Commit(const plugin::v1::CommitSnapshotRequest&,
                        plugin::v1::CommitSnapshotResponse*) {
    return internal::NotImplemented("Commit");
  }
  virtual Status Remove(const plugin::v1::RemoveSnapshotRequest&,
                        plugin::v1::RemoveSnapshotResponse*) {
    return internal::NotImplemented("Remove");
  }
  virtual Status Mounts(const plugin::v1::SnapshotMountsRequest&,
                        plugin::v1::SnapshotMountsResponse*) {
    return internal::NotImplemented("Mounts");
  }
  virtual Status Usage(const plugin::v1::SnapshotUsageRequest&,
                       plugin::v1::SnapshotUsageResponse*) {
    return internal::NotImplemented("Usage");
  }
  virtual Status Walk(const plugin::v1::WalkSnapshotsRequest&, plugin::v1::WalkSnapshotsResponse*) {
    return internal::NotImplemented("Walk");
  }

  Status Dispatch(std::string_view method, std::string_view request, std::string* response) final {
    using namespace ::berth::plugin::v1;  // NOLINT(google-build-using-namespace): route table
    BERTH_SDK_ROUTE(Prepare, PrepareSnapshotRequest, PrepareSnapshotResponse)
    BERTH_SDK_ROUTE(View, ViewSnapshotRequest, ViewSnapshotResponse)
    BERTH_SDK_ROUTE(Commit, CommitSnapshotRequest, CommitSnapshotResponse)
    BERTH_SDK_ROUTE(Remove, RemoveSnapshotRequest, RemoveSnapshotResponse)
    BERTH_SDK_ROUTE(Mounts, SnapshotMountsRequest, SnapshotMountsResponse)
    BERTH_SDK_ROUTE(Usage, SnapshotUsageRequest, SnapshotUsageResponse)
    BERTH_SDK_ROUTE(Walk, WalkSnapshotsRequest, WalkSnapshotsResponse)
    return internal::UnknownMethod(kPluginType, method);
  }
};

}  // namespace berth::sdk
