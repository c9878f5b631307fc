#pragma once
// berthctl as a function, so that tests can run it in-process with their own environment and
// streams: parse argv, resolve the global options, run the chosen verb.

#include <istream>
#include <ostream>

#include "cli/options.h"

namespace berth::cli {

// Runs berthctl and returns its exit status: 0 on success (and for --help/--version), 1 on any
// failure, after printing one "berthctl: <what failed>" line to `err`. Results go to `out`.
int RunBerthctl(int argc, const char* const* argv, const EnvLookup& env, std::ostream& out,
                std::ostream& err);

// The same with the process's input and what is known about its terminal (main() passes
// std::cin and isatty() of fds 0 and 1). The overload above reads an empty input and assumes
// no terminal.
int RunBerthctl(int argc, const char* const* argv, const EnvLookup& env, std::istream& in,
                std::ostream& out, std::ostream& err, Terminal terminal);

}  // namespace berth::cli
