#pragma once
// CoreSnapshotter: the SDK side shared by the overlay and native plugins. Implements every
// io.berth.snapshotter.v1 method on a SnapshotCore and converts between the plugin protos and
// the core's types; a concrete plugin supplies only what differs: how a new snapshot directory
// is filled and which mounts describe a snapshot.
//
// Header-only on purpose: it uses the plugin protos, which each plugin compiles privately
// (berth_add_plugin), so it must be compiled inside each plugin, not into the common library.
//
// Config (the plugin's section of berthd's config): {"root": "<absolute dir>"} optionally
// overrides the directory the host gives the instance (root_dir); any other key is an error.
// Threads: methods run concurrently (SnapshotCore synchronises); Init/destructor do not.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <berth/sdk/plugin.h>
#include <nlohmann/json.hpp>

#include "common/json_reader.h"
#include "common/status.h"
#include "snapshotter/common/snapshot_core.h"

namespace berth::snapshotter {

namespace pv1 = ::berth::plugin::v1;

struct MountSpec {
  std::string type, source;
  std::vector<std::string> options;
};

inline sdk::Status ToSdk(const Status& s) {
  return sdk::Status(static_cast<sdk::Code>(s.code()), s.message());
}

class CoreSnapshotter : public sdk::SnapshotterPlugin {
 public:
  sdk::Status Init(std::string_view config_json) override {
    Result<nlohmann::json> doc = ParseJson(config_json, "config");
    if (!doc.ok()) return ToSdk(doc.status());
    if (!doc->is_object()) return sdk::InvalidArgument("config: expected a JSON object");
    std::string root(host().root_dir());
    JsonObjectReader reader(*doc, "config");
    reader.Get("root", root);
    if (Status s = reader.Finish(); !s.ok()) return ToSdk(s);
    if (root.empty()) {
      return sdk::FailedPrecondition(
          "no root directory: the host gave none and the config has no \"root\"");
    }
    std::vector<std::string> removed;
    Result<std::unique_ptr<SnapshotCore>> core = SnapshotCore::Open(root, &removed);
    if (!core.ok()) return ToSdk(core.status().Wrap("open snapshotter root " + root));
    core_ = std::move(*core);
    for (const std::string& path : removed) host().Info("removed leftover " + path);
    return CheckEnvironment();
  }

  sdk::Status Prepare(const pv1::PrepareSnapshotRequest& req,
                      pv1::PrepareSnapshotResponse* resp) override {
    return Create(Kind::kActive, req.key(), req.parent(), req.labels(), resp->mutable_mounts());
  }
  sdk::Status View(const pv1::ViewSnapshotRequest& req, pv1::ViewSnapshotResponse* resp) override {
    return Create(Kind::kView, req.key(), req.parent(), req.labels(), resp->mutable_mounts());
  }
  sdk::Status Commit(const pv1::CommitSnapshotRequest& req, pv1::CommitSnapshotResponse*) override {
    return ToSdk(core_->Commit(req.name(), req.key(), Labels(req.labels())));
  }
  sdk::Status Remove(const pv1::RemoveSnapshotRequest& req, pv1::RemoveSnapshotResponse*) override {
    return ToSdk(core_->Remove(req.key()));
  }
  sdk::Status Mounts(const pv1::SnapshotMountsRequest& req,
                     pv1::SnapshotMountsResponse* resp) override {
    Result<SnapshotChain> chain = core_->Get(req.key());
    if (!chain.ok()) return ToSdk(chain.status());
    return Fill(*chain, resp->mutable_mounts());
  }
  sdk::Status Usage(const pv1::SnapshotUsageRequest& req,
                    pv1::SnapshotUsageResponse* resp) override {
    Result<DiskUsage> u = core_->Usage(req.key(), "fs");
    if (!u.ok()) return ToSdk(u.status());
    resp->set_size_bytes(u->bytes);
    resp->set_inodes(u->inodes);
    return {};
  }
  sdk::Status Walk(const pv1::WalkSnapshotsRequest& req,
                   pv1::WalkSnapshotsResponse* resp) override {
    for (const SnapshotRecord& r : core_->Walk(Labels(req.label_filter()))) {
      pv1::SnapshotInfo* info = resp->add_snapshots();
      info->set_name(r.name);
      info->set_parent(r.parent);
      info->set_kind(static_cast<pv1::SnapshotKind>(r.kind));
      info->mutable_labels()->insert(r.labels.begin(), r.labels.end());
      info->set_created_at_unix_nano(r.created_ns);
      info->set_updated_at_unix_nano(r.updated_ns);
    }
    return {};
  }

 protected:
  // Called at the end of Init(), when core() is usable: refuse to start where the plugin
  // cannot work (e.g. no overlayfs).
  virtual sdk::Status CheckEnvironment() { return {}; }
  // Refuses a snapshot before anything is created (lock held: keep it cheap). See SnapshotCore.
  virtual Status CheckNew(const SnapshotChain&) { return OkStatus(); }
  // Fills the new snapshot's directory (SnapshotCore::Populate; unlocked).
  virtual Status Populate(const std::string& dir, const SnapshotChain& chain) = 0;
  // The mounts that present the snapshot.
  virtual Result<std::vector<MountSpec>> MountsFor(const SnapshotChain& chain) const = 0;

  const SnapshotCore& core() const { return *core_; }
  // <root>/snapshots/<id>/fs: the tree of a snapshot.
  std::string FsDir(uint64_t id) const { return core_->SnapshotDir(id) + "/fs"; }

 private:
  template <typename Map>
  static std::map<std::string, std::string> Labels(const Map& m) {
    return std::map<std::string, std::string>(m.begin(), m.end());
  }

  template <typename Map>
  sdk::Status Create(Kind kind, const std::string& key, const std::string& parent,
                     const Map& labels, google::protobuf::RepeatedPtrField<pv1::Mount>* mounts) {
    Result<SnapshotChain> chain = core_->Create(
        kind, key, parent, Labels(labels), [this](const SnapshotChain& c) { return CheckNew(c); },
        [this](const std::string& dir, const SnapshotChain& c) { return Populate(dir, c); });
    if (!chain.ok()) return ToSdk(chain.status());
    return Fill(*chain, mounts);
  }

  sdk::Status Fill(const SnapshotChain& chain,
                   google::protobuf::RepeatedPtrField<pv1::Mount>* out) const {
    Result<std::vector<MountSpec>> specs = MountsFor(chain);
    if (!specs.ok()) return ToSdk(specs.status());
    for (const MountSpec& m : *specs) {
      pv1::Mount* pm = out->Add();
      pm->set_type(m.type);
      pm->set_source(m.source);
      for (const std::string& o : m.options) pm->add_options(o);
    }
    return {};
  }

  std::unique_ptr<SnapshotCore> core_;
};

// A bind mount of `dir`, read-only or read-write, as containerd describes it.
inline MountSpec BindMount(const std::string& dir, bool readonly) {
  return MountSpec{"bind", dir, {readonly ? "ro" : "rw", "rbind"}};
}

}  // namespace berth::snapshotter
