#pragma once
// PodRecord: everything berthd persists about one pod sandbox, as one small JSON file
// (<root>/pods/<id>/pod.json, replaced atomically with common/fs.h so a crash leaves the old or
// the new record). A record is first written with `creating` set, before anything exists on
// the host; a record still `creating` at start-up means berthd died mid-RunPodSandbox and the
// pod is undone.
//
// A plain value; the pod manager guards its copies.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "cri/pod/pod_view.h"

namespace berth {

struct PodRecord {
  PodView view;
  bool creating = true;                  // RunPodSandbox has not finished
  std::string network_plugin;            // the plugin Setup was (or will be) called on
  bool network_active = false;           // Setup may have been called; Teardown has not succeeded
  std::vector<std::string> cgroup_dirs;  // cgroup directories berth created, parents first
  // An infra container may exist (pod_infra.h): set before PodInfra::Start, cleared once
  // PodInfra::Remove succeeded.
  bool infra_task = false;
  uint64_t infra_start_time = 0;  // of view.infra_pid (pod_infra.h), to detect pid reuse

  nlohmann::json ToJson() const;
  // INVALID_ARGUMENT (naming `what`) for a record that does not parse.
  static Result<PodRecord> FromJson(const nlohmann::json& j, const std::string& what);
};

}  // namespace berth
