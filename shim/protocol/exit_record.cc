#include "shim/protocol/exit_record.h"

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common/fs.h"

namespace berth::shim {
namespace {

// The value after "\"key\":" in a flat JSON object we wrote ourselves; 0 when missing.
int64_t Field(const std::string& text, const char* key) {
  std::string needle = std::string("\"") + key + "\":";
  size_t at = text.find(needle);
  if (at == std::string::npos) return 0;
  const char* p = text.c_str() + at + needle.size();
  if (strncmp(p, "true", 4) == 0) return 1;
  return strtoll(p, nullptr, 10);
}

}  // namespace

Status WriteExitRecord(const std::string& state_dir, const ExitRecord& r) {
  // snprintf, not a JSON library: the shim keeps its footprint small.
  char buf[256];
  int n = snprintf(buf, sizeof(buf),
                   "{\"pid\":%" PRIu32 ",\"exit_status\":%" PRId32 ",\"signal\":%" PRIu32
                   ",\"started_at_unix_nano\":%" PRId64 ",\"exited_at_unix_nano\":%" PRId64
                   ",\"oom_killed\":%s}\n",
                   r.pid, r.exit_status, r.signal, r.started_at_unix_nano, r.exited_at_unix_nano,
                   r.oom_killed ? "true" : "false");
  return AtomicWriteFile(ExitRecordPath(state_dir), std::string_view(buf, n), 0600);
}

Result<ExitRecord> ReadExitRecord(const std::string& state_dir) {
  Result<std::string> text = ReadFile(ExitRecordPath(state_dir));
  if (!text.ok()) return text.status();
  if (text->find("\"exited_at_unix_nano\":") == std::string::npos) {
    return Status(StatusCode::kDataLoss,
                  "exit record " + ExitRecordPath(state_dir) + " is incomplete");
  }
  ExitRecord r;
  r.pid = static_cast<uint32_t>(Field(*text, "pid"));
  r.exit_status = static_cast<int32_t>(Field(*text, "exit_status"));
  r.signal = static_cast<uint32_t>(Field(*text, "signal"));
  r.started_at_unix_nano = Field(*text, "started_at_unix_nano");
  r.exited_at_unix_nano = Field(*text, "exited_at_unix_nano");
  r.oom_killed = Field(*text, "oom_killed") != 0;
  return r;
}

}  // namespace berth::shim
