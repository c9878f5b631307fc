#pragma once
// One CRI container as berthd keeps it on disk (<root>/containers/<id>/record.json): what the
// CRI reports about it and what is needed to clean it up after a crash (snapshot key, bundle,
// runtime plugin). A plain value, thread-compatible; (de)serialised as JSON.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/cri.h"
#include "common/status.h"

namespace berth::container {

// "creating": resources may be half made (rolled back at startup); the others are the CRI
// states.
enum class ContainerPhase { kCreating, kCreated, kRunning, kExited };
std::string PhaseName(ContainerPhase p);

struct ContainerRecord {
  std::string id;
  std::string pod_id;
  runtime::v1::ContainerConfig config;  // as CreateContainer received it
  ContainerPhase phase = ContainerPhase::kCreating;
  std::string image_id;        // "sha256:…" (CRI image_ref / image_id)
  std::string runtime_plugin;  // the io.berth.runtime.v1 plugin that runs the task
  std::string snapshotter;
  std::string snapshot_key;  // "ctr-<id>"
  std::string bundle;        // <state>/containers/<id>
  std::string log_path;      // absolute; "" when the pod has no log directory
  uint32_t pid = 0;
  uint32_t uid = 0, gid = 0;
  std::vector<uint32_t> additional_gids;
  int stop_signal = 15;  // resolved: config, else image, else SIGTERM
  int64_t created_at = 0, started_at = 0, finished_at = 0;  // unix nanoseconds
  int32_t exit_code = 0;
  bool oom_killed = false;
  std::string message;
  runtime::v1::LinuxContainerResources resources;  // as last applied

  nlohmann::json ToJson() const;
  static Result<ContainerRecord> FromJson(const nlohmann::json& j);
};

// The container's stdin FIFO (CRI stdin=true): created with the bundle, handed to the runtime
// as io.stdin, written by attach sessions. Derived from the record, so it survives restarts.
inline std::string StdinFifoPath(const ContainerRecord& r) { return r.bundle + "/stdin"; }

// The OCI process of an exec in the container (ExecSync and streaming exec): the container's own
// process from its bundle (user, env, cwd, capabilities, …) with `cmd` as args, a terminal when
// `tty`. DATA_LOSS when the bundle has no process; the read's error otherwise.
Result<nlohmann::json> ExecProcess(const ContainerRecord& r, const std::vector<std::string>& cmd,
                                   bool tty);

}  // namespace berth::container
