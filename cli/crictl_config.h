#pragma once
// crictl.yaml: the client configuration file berthctl shares with crictl.
//
// Only the flat subset of YAML that crictl.yaml uses is understood: one `key: value` per line,
// values plain, 'single-' or "double-quoted", `#` comments, blank lines and `---`/`...`
// document markers. Anything else (nesting, lists, flow collections, multi-line scalars) is an
// error naming the line, rather than being half-understood.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace berth::cli {

// The keys crictl knows. A key absent from the file stays nullopt, and so do the values crictl
// treats as "not set": an empty endpoint and a zero timeout. The keys berthctl does not use
// yet are parsed (so a crictl.yaml written for crictl is accepted) and kept for later verbs.
struct CrictlConfig {
  std::optional<std::string> runtime_endpoint;
  std::optional<std::string> image_endpoint;
  std::optional<std::chrono::nanoseconds> timeout;  // file: whole seconds, or a duration
  std::optional<bool> debug;
  std::optional<bool> pull_image_on_create;
  std::optional<bool> disable_pull_on_run;
  std::optional<int64_t> max_retries;
  std::optional<bool> enable_streaming;
};

// Parses crictl.yaml text. `path` is only used in messages, which have the form
// "<path>:<line>: <what is wrong>". Unknown and repeated keys are errors, as they are for crictl.
Result<CrictlConfig> ParseCrictlConfig(std::string_view text, std::string_view path);

// Reads and parses the file at `path`. NOT_FOUND (and nothing else) when it does not exist, so
// that the caller can accept a missing default file but reject a missing explicit one.
Result<CrictlConfig> LoadCrictlConfig(const std::string& path);

}  // namespace berth::cli
