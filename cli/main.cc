// berthctl: the berth command line. Everything but the process boundary is in app.cc.

#include <unistd.h>

#include <iostream>

#include "cli/app.h"

int main(int argc, char** argv) {
  berth::cli::Terminal terminal;
  terminal.in = ::isatty(STDIN_FILENO) == 1;
  terminal.out = ::isatty(STDOUT_FILENO) == 1;
  terminal.in_fd = terminal.in ? STDIN_FILENO : -1;
  terminal.stdin_fd = STDIN_FILENO;
  terminal.stdout_fd = STDOUT_FILENO;
  terminal.stderr_fd = STDERR_FILENO;
  return berth::cli::RunBerthctl(argc, argv, berth::cli::ProcessEnv(), std::cin, std::cout,
                                 std::cerr, terminal);
}
