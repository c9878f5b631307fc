#include "cri/image/store/image_record.h"

#include "cri/image/digest.h"

namespace berth::image {
namespace {

std::vector<std::string> Strings(const nlohmann::json& j) {
  std::vector<std::string> out;
  if (!j.is_array()) return out;
  for (const auto& x : j) {
    if (x.is_string()) out.push_back(x.get<std::string>());
  }
  return out;
}

std::string String(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Docker writes ExposedPorts/Volumes as objects whose keys matter ({"80/tcp": {}}).
std::vector<std::string> Keys(const nlohmann::json& j, const char* key) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_object()) return out;
  for (const auto& [k, v] : it->items()) out.push_back(k);
  return out;
}

}  // namespace

Result<ImageConfigInfo> ParseImageConfig(const std::string& json_text) {
  auto j = nlohmann::json::parse(json_text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return InvalidArgument("image config is not a JSON object");
  ImageConfigInfo info;
  auto rootfs = j.find("rootfs");
  if (rootfs == j.end() || !rootfs->is_object() || !rootfs->contains("diff_ids") ||
      !(*rootfs)["diff_ids"].is_array()) {
    return InvalidArgument("image config has no rootfs.diff_ids");
  }
  info.diff_ids = Strings((*rootfs)["diff_ids"]);
  for (const std::string& d : info.diff_ids) {
    if (!Digest::Parse(d).ok()) return InvalidArgument("image config: bad diff_id \"" + d + "\"");
  }
  auto c = j.find("config");
  if (c != j.end() && c->is_object()) {
    info.user = String(*c, "User");
    info.env = Strings(c->value("Env", nlohmann::json()));
    info.entrypoint = Strings(c->value("Entrypoint", nlohmann::json()));
    info.cmd = Strings(c->value("Cmd", nlohmann::json()));
    info.working_dir = String(*c, "WorkingDir");
    info.stop_signal = String(*c, "StopSignal");
    info.exposed_ports = Keys(*c, "ExposedPorts");
    info.volumes = Keys(*c, "Volumes");
    auto labels = c->find("Labels");
    if (labels != c->end() && labels->is_object()) {
      for (const auto& [k, v] : labels->items()) {
        if (v.is_string()) info.labels[k] = v.get<std::string>();
      }
    }
  }
  return info;
}

nlohmann::json ImageRecord::ToJson() const {
  nlohmann::json cfg = {
      {"user", config.user},
      {"env", config.env},
      {"entrypoint", config.entrypoint},
      {"cmd", config.cmd},
      {"working_dir", config.working_dir},
      {"stop_signal", config.stop_signal},
      {"exposed_ports", config.exposed_ports},
      {"volumes", config.volumes},
      {"labels", config.labels},
      {"diff_ids", config.diff_ids},
  };
  return {
      {"id", id},
      {"repo_tags", repo_tags},
      {"repo_digests", repo_digests},
      {"size", size},
      {"manifest_digest", manifest_digest},
      {"blobs", blobs},
      {"snapshots", snapshots},
      {"config", cfg},
      {"pinned", pinned},
      {"updated_unix_nano", updated_unix_nano},
  };
}

Result<ImageRecord> ImageRecord::FromJson(const nlohmann::json& j) {
  if (!j.is_object()) return InvalidArgument("image record is not a JSON object");
  try {
    ImageRecord r;
    r.id = j.at("id").get<std::string>();
    if (!Digest::Parse(r.id).ok()) return InvalidArgument("image record: bad id \"" + r.id + "\"");
    r.repo_tags = j.value("repo_tags", std::vector<std::string>{});
    r.repo_digests = j.value("repo_digests", std::vector<std::string>{});
    r.size = j.value("size", int64_t{0});
    r.manifest_digest = j.value("manifest_digest", std::string());
    r.blobs = j.value("blobs", std::vector<std::string>{});
    r.snapshots = j.value("snapshots", std::map<std::string, std::vector<std::string>>{});
    r.pinned = j.value("pinned", false);
    r.updated_unix_nano = j.value("updated_unix_nano", int64_t{0});
    const nlohmann::json& c = j.at("config");
    r.config.user = c.value("user", std::string());
    r.config.env = c.value("env", std::vector<std::string>{});
    r.config.entrypoint = c.value("entrypoint", std::vector<std::string>{});
    r.config.cmd = c.value("cmd", std::vector<std::string>{});
    r.config.working_dir = c.value("working_dir", std::string());
    r.config.stop_signal = c.value("stop_signal", std::string());
    r.config.exposed_ports = c.value("exposed_ports", std::vector<std::string>{});
    r.config.volumes = c.value("volumes", std::vector<std::string>{});
    r.config.labels = c.value("labels", std::map<std::string, std::string>{});
    r.config.diff_ids = c.value("diff_ids", std::vector<std::string>{});
    return r;
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(std::string("image record: ") + e.what());
  }
}

std::vector<std::string> ChainIds(const std::vector<std::string>& diff_ids) {
  std::vector<std::string> out;
  for (const std::string& d : diff_ids) {
    if (out.empty()) {
      out.push_back(d);
    } else {
      out.push_back(DigestOf(out.back() + " " + d).String());
    }
  }
  return out;
}

}  // namespace berth::image
