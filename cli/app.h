#pragma once
// berthctl as a function, so that tests can run it in-process with their own environment and
// streams: parse argv, resolve the global options, run the chosen verb.

#include <ostream>

#include "cli/options.h"

namespace berth::cli {

// Runs berthctl and returns its exit status: 0 on success (and for --help/--version), 1 on any
// failure, after printing one "berthctl: <what failed>" line to `err`. Results go to `out`.
int RunBerthctl(int argc, const char* const* argv, const EnvLookup& env, std::ostream& out,
                std::ostream& err);

}  // namespace berth::cli
