#include "plugins/network/cni/cni_cache.h"

#include <dirent.h>
#include <errno.h>
#include <unistd.h>

#include "common/fs.h"

namespace berth::cni {

bool ValidContainerId(const std::string& id) {
  if (id.empty() || id.size() > 255 || !std::isalnum(static_cast<unsigned char>(id[0])))
    return false;
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-')
      return false;
  }
  return true;
}

nlohmann::json Attachment::ToJson() const {
  nlohmann::json args = nlohmann::json::array();
  for (const auto& [k, v] : cni_args) args.push_back({k, v});
  return {{"pod_id", pod_id},
          {"netns", netns},
          {"ifname", ifname},
          {"cni_args", args},
          {"capability_args", capability_args},
          {"network", network},
          {"result", result},
          {"complete", complete}};
}

Result<Attachment> Attachment::FromJson(const nlohmann::json& j) {
  try {
    Attachment a;
    a.pod_id = j.at("pod_id").get<std::string>();
    a.netns = j.at("netns").get<std::string>();
    a.ifname = j.at("ifname").get<std::string>();
    for (const auto& kv : j.at("cni_args")) {
      a.cni_args.emplace_back(kv.at(0).get<std::string>(), kv.at(1).get<std::string>());
    }
    a.capability_args = j.at("capability_args");
    a.network = j.at("network");
    a.result = j.at("result");
    a.complete = j.at("complete").get<bool>();
    return a;
  } catch (const nlohmann::json::exception& e) {
    return Status(StatusCode::kDataLoss, std::string("bad CNI cache record: ") + e.what());
  }
}

Status AttachmentCache::Init() { return MakeDirs(dir_ + "/pods", 0700); }

Status AttachmentCache::Save(const Attachment& a) {
  if (!ValidContainerId(a.pod_id)) return InvalidArgument("invalid pod id \"" + a.pod_id + "\"");
  return AtomicWriteFile(PathOf(a.pod_id), a.ToJson().dump(), 0600);
}

Result<Attachment> AttachmentCache::Load(const std::string& pod_id) const {
  if (!ValidContainerId(pod_id)) return InvalidArgument("invalid pod id \"" + pod_id + "\"");
  Result<std::string> text = ReadFile(PathOf(pod_id));
  if (!text.ok()) return text.status();
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded()) {
    return Status(StatusCode::kDataLoss, "CNI cache record " + PathOf(pod_id) + " is not JSON");
  }
  return Attachment::FromJson(j);
}

Status AttachmentCache::Remove(const std::string& pod_id) {
  if (!ValidContainerId(pod_id)) return InvalidArgument("invalid pod id \"" + pod_id + "\"");
  if (::unlink(PathOf(pod_id).c_str()) != 0 && errno != ENOENT) {
    return ErrnoStatus(errno, "remove " + PathOf(pod_id));
  }
  return OkStatus();
}

std::vector<std::string> AttachmentCache::List() const {
  std::vector<std::string> ids;
  DIR* d = ::opendir((dir_ + "/pods").c_str());
  if (d == nullptr) return ids;
  while (struct dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n.size() <= 5 || n.compare(n.size() - 5, 5, ".json") != 0) continue;
    std::string id = n.substr(0, n.size() - 5);
    if (ValidContainerId(id)) ids.push_back(id);
  }
  ::closedir(d);
  return ids;
}

}  // namespace berth::cni
