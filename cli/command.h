#pragma once
// How a verb plugs into berthctl.
//
// Each verb group lives in cli/verbs/<group>.{h,cc} and exposes one function
//   void Add<Group>Commands(CLI::App& root, CommandList& commands);
// that declares its subcommands and flags on `root` and appends a Command for each. main()
// parses the command line, resolves the global options, opens the Connection, and then runs the
// one Command whose subcommand was given. Verbs never read globals or the environment: all
// they need is in the Context.

#include <functional>
#include <istream>
#include <ostream>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/connection.h"
#include "cli/debug_log.h"
#include "cli/options.h"
#include "common/status.h"

namespace berth::cli {

// Everything a verb runs with. Borrowed: valid for the duration of Command::run.
struct Context {
  const Options& options;
  Connection& connection;
  DebugLog debug;
  std::ostream& out;     // results
  std::ostream& err;     // diagnostics (not errors: a failing verb returns its Status)
  std::istream& in;      // answers to prompts (pull --username asks for a password)
  const EnvLookup& env;  // for the few verb flags crictl also reads from the environment
  Terminal terminal;     // whether out/in are terminals (progress bars, hidden prompts)
  // berthctl's exit status when run returns OK: `exec -s` passes on the command's own.
  int exit_code = 0;
};

struct Command {
  CLI::App* app;  // the subcommand, owned by the root CLI::App
  // Runs the verb after parsing. A non-OK Status is printed as "berthctl: <message>" and
  // makes berthctl exit 1; its message should say what was being done ("getting the runtime
  // version: rpc error: ...").
  std::function<Status(Context&)> run;
};

using CommandList = std::vector<Command>;

}  // namespace berth::cli
