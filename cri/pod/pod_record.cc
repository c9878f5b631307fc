#include "cri/pod/pod_record.h"

#include <google/protobuf/util/json_util.h>

namespace berth {

nlohmann::json PodRecord::ToJson() const {
  const PodView& v = view;
  std::string config;
  google::protobuf::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = true;
  // Cannot fail for a message of the generated, fully reflective CRI types.
  (void)google::protobuf::util::MessageToJsonString(v.config, &config, opts);
  return {{"id", v.id},
          {"creating", creating},
          {"state", v.state == PodState::kReady ? "ready" : "notready"},
          {"config", nlohmann::json::parse(config)},
          {"runtime_handler", v.runtime_handler},
          {"runtime_plugin", v.runtime_plugin},
          {"created_at", v.created_at_unix_nano},
          {"netns_path", v.netns_path},
          {"ipc_ns_path", v.ipc_ns_path},
          {"uts_ns_path", v.uts_ns_path},
          {"pid_ns_path", v.pid_ns_path},
          {"host_network", v.host_network},
          {"host_pid", v.host_pid},
          {"host_ipc", v.host_ipc},
          {"hostname", v.hostname},
          {"hostname_path", v.hostname_path},
          {"resolv_conf_path", v.resolv_conf_path},
          {"hosts_path", v.hosts_path},
          {"shm_path", v.shm_path},
          {"cgroup_parent", v.cgroup_parent},
          {"log_directory", v.log_directory},
          {"ip", v.ip},
          {"additional_ips", v.additional_ips},
          {"network_plugin", network_plugin},
          {"network_active", network_active},
          {"cgroup_dirs", cgroup_dirs},
          {"infra_task", infra_task},
          {"infra_pid", v.infra_pid},
          {"infra_start_time", infra_start_time}};
}

Result<PodRecord> PodRecord::FromJson(const nlohmann::json& j, const std::string& what) {
  try {
    PodRecord r;
    PodView& v = r.view;
    v.id = j.at("id").get<std::string>();
    r.creating = j.at("creating").get<bool>();
    v.state = j.at("state").get<std::string>() == "ready" ? PodState::kReady : PodState::kNotReady;
    auto st = google::protobuf::util::JsonStringToMessage(j.at("config").dump(), &v.config);
    if (!st.ok()) return InvalidArgument(what + ": config: " + std::string(st.message()));
    v.runtime_handler = j.at("runtime_handler").get<std::string>();
    v.runtime_plugin = j.at("runtime_plugin").get<std::string>();
    v.created_at_unix_nano = j.at("created_at").get<int64_t>();
    v.netns_path = j.at("netns_path").get<std::string>();
    v.ipc_ns_path = j.at("ipc_ns_path").get<std::string>();
    v.uts_ns_path = j.at("uts_ns_path").get<std::string>();
    v.pid_ns_path = j.at("pid_ns_path").get<std::string>();
    v.host_network = j.at("host_network").get<bool>();
    v.host_pid = j.at("host_pid").get<bool>();
    v.host_ipc = j.at("host_ipc").get<bool>();
    v.hostname = j.at("hostname").get<std::string>();
    v.hostname_path = j.at("hostname_path").get<std::string>();
    v.resolv_conf_path = j.at("resolv_conf_path").get<std::string>();
    v.hosts_path = j.at("hosts_path").get<std::string>();
    v.shm_path = j.at("shm_path").get<std::string>();
    v.cgroup_parent = j.at("cgroup_parent").get<std::string>();
    v.log_directory = j.at("log_directory").get<std::string>();
    v.ip = j.at("ip").get<std::string>();
    v.additional_ips = j.at("additional_ips").get<std::vector<std::string>>();
    r.network_plugin = j.at("network_plugin").get<std::string>();
    r.network_active = j.at("network_active").get<bool>();
    r.cgroup_dirs = j.at("cgroup_dirs").get<std::vector<std::string>>();
    r.infra_task = j.at("infra_task").get<bool>();
    v.infra_pid = j.at("infra_pid").get<int>();
    r.infra_start_time = j.at("infra_start_time").get<uint64_t>();
    return r;
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(what + ": " + e.what());
  }
}

}  // namespace berth
