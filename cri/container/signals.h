#pragma once
// Signal names as images (config StopSignal) and the CRI Signal enum spell them → numbers.
// Pure, thread-safe.

#include <string>

#include "common/status.h"

namespace berth::container {

// "SIGTERM", "TERM", "15", "SIGRTMIN+3", and the CRI enum names ("SIGRTMINPLUS3",
// "SIGRTMAXMINUS1"). INVALID_ARGUMENT for anything else.
Result<int> SignalNumber(const std::string& name);

}  // namespace berth::container
