// berthctl: the berth command line. Everything but the process boundary is in app.cc.

#include <iostream>

#include "cli/app.h"

int main(int argc, char** argv) {
  return berth::cli::RunBerthctl(argc, argv, berth::cli::ProcessEnv(), std::cout, std::cerr);
}
