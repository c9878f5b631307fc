#include "cli/verbs/cri_util.h"

#include <regex.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "cli/output/format.h"
#include "cli/verbs/pull.h"

namespace berth::cli {
namespace {

using ::runtime::v1::ContainerState;
using ::runtime::v1::PodSandboxState;

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

struct Broken {
  std::tm tm{};
  int64_t nanos = 0;
};

// `unix_nanos` as calendar time at `offset` seconds east of UTC (floor division, so times
// before 1970 are right too).
Broken BreakDown(int64_t unix_nanos, int offset) {
  int64_t secs = unix_nanos / 1000000000;
  int64_t nanos = unix_nanos % 1000000000;
  if (nanos < 0) {
    nanos += 1000000000;
    --secs;
  }
  time_t t = static_cast<time_t>(secs + offset);
  Broken b;
  ::gmtime_r(&t, &b.tm);
  b.nanos = nanos;
  return b;
}

// The local zone's offset and abbreviation at `unix_nanos`.
std::pair<int, std::string> LocalZone(int64_t unix_nanos) {
  time_t t = static_cast<time_t>(unix_nanos / 1000000000);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  return {static_cast<int>(tm.tm_gmtoff), tm.tm_zone != nullptr ? tm.tm_zone : "UTC"};
}

// ".123" for 123000000 ns; "" for 0 (Go's .999999999 layout).
std::string TrimmedFraction(int64_t nanos) {
  if (nanos == 0) return "";
  char buf[16];
  std::snprintf(buf, sizeof buf, ".%09lld", static_cast<long long>(nanos));
  std::string s = buf;
  while (s.back() == '0') s.pop_back();
  return s;
}

std::string DateTime(const std::tm& tm, char separator) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d%c%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, separator, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::string Offset(int offset, bool colon) {
  char sign = offset < 0 ? '-' : '+';
  int a = std::abs(offset);
  char buf[16];
  std::snprintf(buf, sizeof buf, colon ? "%c%02d:%02d" : "%c%02d%02d", sign, a / 3600,
                (a % 3600) / 60);
  return buf;
}

// Replaces message fields that protobuf's JSON printer left out (unset) with null, as Go's
// marshalMapInOrder does for the top-level fields of a status.
void NullUnsetMessages(const google::protobuf::Message& message, nlohmann::json& json) {
  const auto* d = message.GetDescriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    const auto* f = d->field(i);
    if (f->is_repeated() || f->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) {
      continue;
    }
    if (!json.contains(f->json_name())) json[f->json_name()] = nullptr;
  }
}

constexpr char kGoZeroTime[] = "0001-01-01T00:00:00Z";

}  // namespace

std::string PodStateName(PodSandboxState state) {
  switch (state) {
    case ::runtime::v1::SANDBOX_READY:
      return "Ready";
    case ::runtime::v1::SANDBOX_NOTREADY:
      return "NotReady";
    default:
      return "Unknown(" + std::to_string(static_cast<int>(state)) + ")";
  }
}

std::string ContainerStateName(ContainerState state) {
  switch (state) {
    case ::runtime::v1::CONTAINER_CREATED:
      return "Created";
    case ::runtime::v1::CONTAINER_RUNNING:
      return "Running";
    case ::runtime::v1::CONTAINER_EXITED:
      return "Exited";
    case ::runtime::v1::CONTAINER_UNKNOWN:
      return "Unknown";
    default:
      return "Unknown(" + std::to_string(static_cast<int>(state)) + ")";
  }
}

Result<PodSandboxState> ParsePodState(std::string_view text) {
  std::string s = Lower(text);
  if (s == "ready") return ::runtime::v1::SANDBOX_READY;
  if (s == "notready") return ::runtime::v1::SANDBOX_NOTREADY;
  return InvalidArgument("--state should be ready or notready");
}

Result<ContainerState> ParseContainerState(std::string_view text) {
  std::string s = Lower(text);
  if (s == "created") return ::runtime::v1::CONTAINER_CREATED;
  if (s == "running") return ::runtime::v1::CONTAINER_RUNNING;
  if (s == "exited") return ::runtime::v1::CONTAINER_EXITED;
  if (s == "unknown") return ::runtime::v1::CONTAINER_UNKNOWN;
  return InvalidArgument("--state should be one of created, running, exited or unknown");
}

std::string HumanDuration(std::chrono::nanoseconds d) {
  const double secs_f = std::chrono::duration<double>(d).count();
  const int64_t seconds = static_cast<int64_t>(secs_f);
  if (seconds < 1) return "Less than a second";
  if (seconds == 1) return "1 second";
  if (seconds < 60) return std::to_string(seconds) + " seconds";
  const int64_t minutes = static_cast<int64_t>(secs_f / 60);
  if (minutes == 1) return "About a minute";
  if (minutes < 60) return std::to_string(minutes) + " minutes";
  const int64_t hours = static_cast<int64_t>(std::round(secs_f / 3600));
  if (hours == 1) return "About an hour";
  if (hours < 48) return std::to_string(hours) + " hours";
  if (hours < 24 * 7 * 2) return std::to_string(hours / 24) + " days";
  if (hours < 24 * 30 * 2) return std::to_string(hours / 24 / 7) + " weeks";
  if (hours < 24 * 365 * 2) return std::to_string(hours / 24 / 30) + " months";
  return std::to_string(static_cast<int64_t>(secs_f / 3600) / 24 / 365) + " years";
}

std::string Ago(int64_t unix_nanos, std::chrono::system_clock::time_point now) {
  auto now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch());
  return HumanDuration(now_ns - std::chrono::nanoseconds(unix_nanos)) + " ago";
}

std::string FormatRfc3339NanoAt(int64_t unix_nanos, int offset) {
  Broken b = BreakDown(unix_nanos, offset);
  return DateTime(b.tm, 'T') + TrimmedFraction(b.nanos) +
         (offset == 0 ? "Z" : Offset(offset, true));
}

std::string FormatRfc3339Nano(int64_t unix_nanos) {
  return FormatRfc3339NanoAt(unix_nanos, LocalZone(unix_nanos).first);
}

std::string FormatGoTime(int64_t unix_nanos) {
  auto [offset, zone] = LocalZone(unix_nanos);
  Broken b = BreakDown(unix_nanos, offset);
  return DateTime(b.tm, ' ') + TrimmedFraction(b.nanos) + " " + Offset(offset, false) + " " + zone;
}

bool MatchesRegex(const std::string& pattern, const std::string& target) {
  if (pattern.empty()) return true;
  regex_t re;
  if (::regcomp(&re, pattern.c_str(), REG_EXTENDED | REG_NOSUB) != 0) return false;
  bool matched = ::regexec(&re, target.c_str(), 0, nullptr, 0) == 0;
  ::regfree(&re);
  return matched;
}

std::string KeyValueBlock(const char* title,
                          const google::protobuf::Map<std::string, std::string>& m) {
  if (m.empty()) return "";
  std::map<std::string, std::string> sorted(m.begin(), m.end());
  std::string out = std::string(title) + ":\n";
  for (const auto& [k, v] : sorted) out += "\t" + k + " -> " + v + "\n";
  return out;
}

std::string LabelOrUnknown(const google::protobuf::Map<std::string, std::string>& labels,
                           const std::string& key) {
  auto it = labels.find(key);
  return it == labels.end() ? "unknown" : it->second;
}

Result<nlohmann::json> PodStatusJson(const ::runtime::v1::PodSandboxStatus& status) {
  auto json = MessageToJson(status);
  if (!json.ok()) return json.status();
  NullUnsetMessages(status, *json);
  (*json)["createdAt"] = FormatRfc3339Nano(status.created_at());
  return json;
}

Result<nlohmann::json> ContainerStatusJson(const ::runtime::v1::ContainerStatus& status) {
  auto json = MessageToJson(status);
  if (!json.ok()) return json.status();
  NullUnsetMessages(status, *json);
  (*json)["createdAt"] = FormatRfc3339Nano(status.created_at());
  const auto state = status.state();
  (*json)["startedAt"] = state != ::runtime::v1::CONTAINER_CREATED
                             ? FormatRfc3339Nano(status.started_at())
                             : std::string(kGoZeroTime);
  const bool finished = state == ::runtime::v1::CONTAINER_EXITED ||
                        (state == ::runtime::v1::CONTAINER_UNKNOWN && status.finished_at() > 0);
  (*json)["finishedAt"] =
      finished ? FormatRfc3339Nano(status.finished_at()) : std::string(kGoZeroTime);
  return json;
}

Result<std::string> ResolveIdPrefix(const std::string& arg, const std::vector<std::string>& ids,
                                    std::string_view what) {
  if (arg.empty()) return InvalidArgument("ID cannot be empty");
  std::vector<const std::string*> matches;
  for (const std::string& id : ids) {
    if (id == arg) return id;
    if (id.compare(0, arg.size(), arg) == 0) matches.push_back(&id);
  }
  if (matches.empty()) return NotFound(std::string("no ") + std::string(what) + " \"" + arg + "\"");
  if (matches.size() > 1) {
    return InvalidArgument(std::string(what) + " ID prefix \"" + arg +
                           "\" is ambiguous: it matches " + std::to_string(matches.size()) + " " +
                           std::string(what) + "s; give more characters");
  }
  return *matches.front();
}

Result<std::string> ResolvePodId(Context& ctx, const std::string& arg) {
  if (arg.empty()) return InvalidArgument("ID cannot be empty");
  auto listed = ctx.connection.Call(ctx.connection.Runtime(),
                                    &::runtime::v1::RuntimeService::Stub::ListPodSandbox,
                                    ::runtime::v1::ListPodSandboxRequest());
  if (!listed.ok()) {
    ctx.debug("resolving pod ID prefix \"" + arg + "\": " + listed.status().message());
    return arg;
  }
  std::vector<std::string> ids;
  for (const auto& p : listed->items()) ids.push_back(p.id());
  auto id = ResolveIdPrefix(arg, ids, "pod");
  if (!id.ok() && id.status().code() == StatusCode::kNotFound) return arg;
  return id;
}

Result<std::string> ResolveContainerId(Context& ctx, const std::string& arg) {
  if (arg.empty()) return InvalidArgument("ID cannot be empty");
  auto listed = ctx.connection.Call(ctx.connection.Runtime(),
                                    &::runtime::v1::RuntimeService::Stub::ListContainers,
                                    ::runtime::v1::ListContainersRequest());
  if (!listed.ok()) {
    ctx.debug("resolving container ID prefix \"" + arg + "\": " + listed.status().message());
    return arg;
  }
  std::vector<std::string> ids;
  for (const auto& c : listed->containers()) ids.push_back(c.id());
  auto id = ResolveIdPrefix(arg, ids, "container");
  if (!id.ok() && id.status().code() == StatusCode::kNotFound) return arg;
  return id;
}

Status AggregateErrors(const std::vector<Status>& errors) {
  if (errors.empty()) return OkStatus();
  if (errors.size() == 1) return errors.front();
  std::string message = "[";
  for (size_t i = 0; i < errors.size(); ++i) {
    if (i > 0) message += ", ";
    message += errors[i].message();
  }
  return Status(StatusCode::kUnknown, message + "]");
}

Result<std::map<std::string, std::string>> ParseLabelSelector(const std::vector<std::string>& l) {
  return ParseKeyValues(l);
}

}  // namespace berth::cli
