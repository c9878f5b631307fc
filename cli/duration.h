#pragma once
// Timeouts as crictl's --timeout accepts them.

#include <chrono>
#include <string>
#include <string_view>

#include "common/status.h"

namespace berth::cli {

// Parses a duration the way Go's time.ParseDuration does (crictl's --timeout is a Go duration):
// a sequence of decimal numbers, each with an optional fraction and a unit ("2s", "500ms",
// "1m30s", "1.5h"; units ns, us, µs, ms, s, m, h). Additionally a bare number means seconds
// ("2", "0.5"), because that is how crictl.yaml and most people write a timeout.
// INVALID_ARGUMENT naming the input for anything else, for negative values and on overflow.
// Zero is accepted; whether it is meaningful is the caller's business.
Result<std::chrono::nanoseconds> ParseDuration(std::string_view text);

// The shortest exact spelling in the same syntax ("2s", "1m30s", "500ms", "0s"), for messages.
std::string FormatDuration(std::chrono::nanoseconds d);

}  // namespace berth::cli
