#include "snapshotter/common/metadata_store.h"

#include <chrono>

#include <nlohmann/json.hpp>

#include "common/fs.h"

namespace berth::snapshotter {
namespace {

constexpr int kFormatVersion = 1;

std::string KindName(Kind k) {
  switch (k) {
    case Kind::kView:
      return "view";
    case Kind::kActive:
      return "active";
    case Kind::kCommitted:
      return "committed";
  }
  return "unknown";
}

std::optional<Kind> ParseKind(const std::string& s) {
  if (s == "view") return Kind::kView;
  if (s == "active") return Kind::kActive;
  if (s == "committed") return Kind::kCommitted;
  return std::nullopt;
}

}  // namespace

int64_t NowUnixNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status MetadataStore::Load() {
  records_.clear();
  next_id_ = 1;
  Result<std::string> text = ReadFile(path_);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) return OkStatus();
    return text.status();
  }
  try {
    nlohmann::json doc = nlohmann::json::parse(*text);
    if (doc.at("version").get<int>() != kFormatVersion) {
      return Status(StatusCode::kDataLoss,
                    path_ + ": unsupported format version " + doc.at("version").dump());
    }
    next_id_ = doc.at("next_id").get<uint64_t>();
    for (const nlohmann::json& j : doc.at("snapshots")) {
      SnapshotRecord r;
      r.id = j.at("id").get<uint64_t>();
      r.name = j.at("name").get<std::string>();
      r.parent = j.value("parent", "");
      std::optional<Kind> kind = ParseKind(j.at("kind").get<std::string>());
      if (!kind) return Status(StatusCode::kDataLoss, path_ + ": bad kind for " + r.name);
      r.kind = *kind;
      r.labels = j.value("labels", std::map<std::string, std::string>{});
      r.created_ns = j.value("created_ns", int64_t{0});
      r.updated_ns = j.value("updated_ns", int64_t{0});
      if (r.id >= next_id_) next_id_ = r.id + 1;
      records_[r.name] = std::move(r);
    }
  } catch (const nlohmann::json::exception& e) {
    return Status(StatusCode::kDataLoss, path_ + ": corrupt snapshot metadata: " + e.what());
  }
  return OkStatus();
}

Status MetadataStore::Save() const {
  nlohmann::json snaps = nlohmann::json::array();
  for (const auto& [name, r] : records_) {
    nlohmann::json j = {{"id", r.id},
                        {"name", r.name},
                        {"kind", KindName(r.kind)},
                        {"created_ns", r.created_ns},
                        {"updated_ns", r.updated_ns}};
    if (!r.parent.empty()) j["parent"] = r.parent;
    if (!r.labels.empty()) j["labels"] = r.labels;
    snaps.push_back(std::move(j));
  }
  nlohmann::json doc = {{"version", kFormatVersion}, {"next_id", next_id_}, {"snapshots", snaps}};
  return AtomicWriteFile(path_, doc.dump(), 0600).Wrap("save snapshot metadata");
}

}  // namespace berth::snapshotter
