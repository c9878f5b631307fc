#pragma once
// Pieces the pod and container verbs share, each spelled the way crictl spells it: state names,
// "x minutes ago", Go's time formats, list filters (regular expressions, labels), the
// {"status": …, "info": …} shape of inspect/inspectp, and ID-prefix resolution.
//
// Pure functions unless they take a Context; those make RPCs through ctx.connection.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <google/protobuf/map.h>
#include <nlohmann/json.hpp>

#include "api/cri.h"
#include "cli/command.h"
#include "common/status.h"

namespace berth::cli {

// crictl's convertPodState / convertContainerState: "Ready", "NotReady"; "Created",
// "Running", "Exited", "Unknown".
std::string PodStateName(::runtime::v1::PodSandboxState state);
std::string ContainerStateName(::runtime::v1::ContainerState state);

// --state values, case-insensitive as in crictl. INVALID_ARGUMENT with crictl's wording
// ("--state should be ready or notready") otherwise.
Result<::runtime::v1::PodSandboxState> ParsePodState(std::string_view text);
Result<::runtime::v1::ContainerState> ParseContainerState(std::string_view text);

// go-units' HumanDuration ("Less than a second", "About a minute", "3 hours", "2 weeks").
std::string HumanDuration(std::chrono::nanoseconds d);

// crictl's CREATED column: HumanDuration(now - created) + " ago".
std::string Ago(int64_t unix_nanos, std::chrono::system_clock::time_point now);

// Go's time.Unix(0, ns).Format(time.RFC3339Nano) in the local zone:
// "2024-05-01T10:00:00.123Z", "2024-05-01T12:00:00+02:00" (fraction without trailing zeros).
std::string FormatRfc3339Nano(int64_t unix_nanos);
// The same with an explicit UTC offset in seconds (0 prints "Z").
std::string FormatRfc3339NanoAt(int64_t unix_nanos, int offset_seconds);
// Go's time.Time.String() in the local zone: "2024-05-01 10:00:00.123456789 +0000 UTC".
std::string FormatGoTime(int64_t unix_nanos);

// crictl's matchesRegex: an empty pattern matches everything, otherwise an unanchored POSIX
// extended regular expression search; an invalid pattern matches nothing.
bool MatchesRegex(const std::string& pattern, const std::string& target);

// The labels/annotations blocks of crictl's verbose and table outputs, keys sorted:
// "Labels:\n\tk -> v\n"…; nothing when the map is empty (a nil map in Go).
std::string KeyValueBlock(const char* title,
                          const google::protobuf::Map<std::string, std::string>& m);

// The label/annotation crictl reads the pod name and namespace of a container from
// ("io.kubernetes.pod.name", "io.kubernetes.pod.namespace"); "unknown" when absent.
std::string LabelOrUnknown(const google::protobuf::Map<std::string, std::string>& labels,
                           const std::string& key);

// crictl's marshalPodSandboxStatus / marshalContainerStatus: the message as JSON (defaults
// included), unset message fields as null, and the unix-nanosecond times as RFC3339Nano text:
// createdAt always; for a container startedAt unless CREATED and finishedAt when EXITED (or
// UNKNOWN with a finish time), else Go's zero time "0001-01-01T00:00:00Z".
Result<nlohmann::json> PodStatusJson(const ::runtime::v1::PodSandboxStatus& status);
Result<nlohmann::json> ContainerStatusJson(const ::runtime::v1::ContainerStatus& status);

// Picks the one id `arg` names among `ids`: an exact match, else the only id starting with
// `arg`. NOT_FOUND when none does (the caller may still pass `arg` on: a runtime may know ids a
// list does not show); INVALID_ARGUMENT when several do ("ambiguous").
Result<std::string> ResolveIdPrefix(const std::string& arg, const std::vector<std::string>& ids,
                                    std::string_view what);

// crictl accepts unique ID prefixes (the runtime resolves them). berthctl resolves them itself
// so that any CRI runtime accepts them: ListPodSandbox/ListContainers and ResolveIdPrefix. When
// the listing fails or finds nothing the argument is returned unchanged and the real RPC reports
// the error; an ambiguous prefix is an error.
Result<std::string> ResolvePodId(Context& ctx, const std::string& arg);
Result<std::string> ResolveContainerId(Context& ctx, const std::string& arg);

// Errors of verbs that go on after a failure (rmp, rm): one is returned as is, several as
// k8s' aggregate "[a, b]".
Status AggregateErrors(const std::vector<Status>& errors);

// Whether the label selector of a list verb parsed ("key=value" each).
Result<std::map<std::string, std::string>> ParseLabelSelector(const std::vector<std::string>& l);

}  // namespace berth::cli
