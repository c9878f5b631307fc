#include "cri/container/container_record.h"

#include <google/protobuf/util/json_util.h>

#include "common/fs.h"

namespace berth::container {
namespace {

template <typename Msg>
std::string ProtoJson(const Msg& m) {
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(m, &out);
  return out;
}

template <typename Msg>
Status ParseProto(const nlohmann::json& j, const char* key, Msg* m) {
  if (!j.contains(key)) return OkStatus();
  if (!j[key].is_string())
    return Status(StatusCode::kDataLoss, std::string(key) + ": not a string");
  auto st = google::protobuf::util::JsonStringToMessage(j[key].get<std::string>(), m);
  if (!st.ok())
    return Status(StatusCode::kDataLoss, std::string(key) + ": " + std::string(st.message()));
  return OkStatus();
}

}  // namespace

std::string PhaseName(ContainerPhase p) {
  switch (p) {
    case ContainerPhase::kCreating:
      return "creating";
    case ContainerPhase::kCreated:
      return "created";
    case ContainerPhase::kRunning:
      return "running";
    case ContainerPhase::kExited:
      return "exited";
  }
  return "unknown";
}

nlohmann::json ContainerRecord::ToJson() const {
  return {{"id", id},
          {"pod_id", pod_id},
          {"config", ProtoJson(config)},
          {"phase", PhaseName(phase)},
          {"image_id", image_id},
          {"runtime_plugin", runtime_plugin},
          {"snapshotter", snapshotter},
          {"snapshot_key", snapshot_key},
          {"bundle", bundle},
          {"log_path", log_path},
          {"pid", pid},
          {"uid", uid},
          {"gid", gid},
          {"additional_gids", additional_gids},
          {"stop_signal", stop_signal},
          {"created_at", created_at},
          {"started_at", started_at},
          {"finished_at", finished_at},
          {"exit_code", exit_code},
          {"oom_killed", oom_killed},
          {"message", message},
          {"resources", ProtoJson(resources)}};
}

Result<ContainerRecord> ContainerRecord::FromJson(const nlohmann::json& j) {
  try {
    ContainerRecord r;
    r.id = j.at("id").get<std::string>();
    r.pod_id = j.at("pod_id").get<std::string>();
    BERTH_RETURN_IF_ERROR(ParseProto(j, "config", &r.config));
    std::string phase = j.at("phase").get<std::string>();
    if (phase == "creating")
      r.phase = ContainerPhase::kCreating;
    else if (phase == "created")
      r.phase = ContainerPhase::kCreated;
    else if (phase == "running")
      r.phase = ContainerPhase::kRunning;
    else if (phase == "exited")
      r.phase = ContainerPhase::kExited;
    else
      return Status(StatusCode::kDataLoss, "unknown phase \"" + phase + "\"");
    r.image_id = j.value("image_id", "");
    r.runtime_plugin = j.value("runtime_plugin", "");
    r.snapshotter = j.value("snapshotter", "");
    r.snapshot_key = j.value("snapshot_key", "");
    r.bundle = j.value("bundle", "");
    r.log_path = j.value("log_path", "");
    r.pid = j.value("pid", 0u);
    r.uid = j.value("uid", 0u);
    r.gid = j.value("gid", 0u);
    r.additional_gids = j.value("additional_gids", std::vector<uint32_t>{});
    r.stop_signal = j.value("stop_signal", 15);
    r.created_at = j.value("created_at", int64_t{0});
    r.started_at = j.value("started_at", int64_t{0});
    r.finished_at = j.value("finished_at", int64_t{0});
    r.exit_code = j.value("exit_code", 0);
    r.oom_killed = j.value("oom_killed", false);
    r.message = j.value("message", "");
    BERTH_RETURN_IF_ERROR(ParseProto(j, "resources", &r.resources));
    return r;
  } catch (const nlohmann::json::exception& e) {
    return Status(StatusCode::kDataLoss, std::string("container record: ") + e.what());
  }
}

Result<nlohmann::json> ExecProcess(const ContainerRecord& r, const std::vector<std::string>& cmd,
                                   bool tty) {
  Result<std::string> text = ReadFile(r.bundle + "/config.json");
  if (!text.ok()) return text.status().Wrap("exec in " + r.id);
  nlohmann::json spec = nlohmann::json::parse(*text, nullptr, false);
  if (spec.is_discarded() || !spec.contains("process"))
    return Status(StatusCode::kDataLoss, "bundle of " + r.id + " has no process");
  nlohmann::json process = spec["process"];
  process["args"] = cmd;
  process["terminal"] = tty;
  process.erase("consoleSize");  // the session's terminal sets the size
  return process;
}

}  // namespace berth::container
