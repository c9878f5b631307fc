#pragma once
// The per-pod record of a CNI attachment, kept under <cache_dir>/pods/<pod_id>.json so that
// DEL after a berthd restart (or after the conflist changed) runs the exact network config,
// arguments and prevResult that ADD used (as libcni's result cache does).
//
// A record is written *before* ADD runs (complete=false) and rewritten with the result after,
// so a crash in the middle still leaves what GC needs to undo it. Writes are atomic
// (write+fsync+rename). Not synchronised: the caller serialises per pod.

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace berth::cni {

struct Attachment {
  std::string pod_id;                                         // also CNI_CONTAINERID
  std::string netns;                                          // CNI_NETNS
  std::string ifname;                                         // CNI_IFNAME
  std::vector<std::pair<std::string, std::string>> cni_args;  // CNI_ARGS, in order
  nlohmann::json capability_args = nlohmann::json::object();  // runtimeConfig candidates
  nlohmann::json network;  // NetworkList::ToJson() of the list ADD used
  nlohmann::json result;   // the chain's final result; null until ADD completed
  bool complete = false;   // ADD of the whole chain succeeded

  nlohmann::json ToJson() const;
  static Result<Attachment> FromJson(const nlohmann::json& j);
};

// True for a CNI container id: [A-Za-z0-9][A-Za-z0-9_.-]* (also safe as a file name).
bool ValidContainerId(const std::string& id);

class AttachmentCache {
 public:
  explicit AttachmentCache(std::string dir) : dir_(std::move(dir)) {}

  // Creates <dir>/pods (0700).
  Status Init();
  Status Save(const Attachment& a);
  // NOT_FOUND when there is no record; DATA_LOSS when it does not parse.
  Result<Attachment> Load(const std::string& pod_id) const;
  // OK when already gone.
  Status Remove(const std::string& pod_id);
  // Ids of every record (temporary files and foreign names ignored).
  std::vector<std::string> List() const;

 private:
  std::string PathOf(const std::string& pod_id) const { return dir_ + "/pods/" + pod_id + ".json"; }
  std::string dir_;
};

}  // namespace berth::cni
