#pragma once
// The durable record of the container init's exit: <state dir>/exit.json, written by the shim
// (atomically, fsynced) before it tells anyone about the exit, and read by the runtime plugin
// when the shim is gone (berthd restarted, shim killed).

#include <cstdint>
#include <string>

#include "common/status.h"

namespace berth::shim {

struct ExitRecord {
  uint32_t pid = 0;
  int32_t exit_status = 0;  // exit code, or 128 + signal
  uint32_t signal = 0;
  int64_t started_at_unix_nano = 0;
  int64_t exited_at_unix_nano = 0;
  bool oom_killed = false;
};

inline std::string ExitRecordPath(const std::string& state_dir) { return state_dir + "/exit.json"; }

Status WriteExitRecord(const std::string& state_dir, const ExitRecord& record);
// NOT_FOUND when the shim never recorded an exit.
Result<ExitRecord> ReadExitRecord(const std::string& state_dir);

}  // namespace berth::shim
