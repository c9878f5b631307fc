#pragma once
// crictl's container verbs: create, start, run, stop, rm, ps, inspect, update.

#include <chrono>
#include <string>
#include <vector>

#include "api/cri.h"
#include "cli/command.h"

namespace berth::cli {

void AddContainersCommands(CLI::App& root, CommandList& commands);

// crictl's getContainersList minus the --image filter (which needs ImageStatus): containers
// whose name and pod namespace (label io.kubernetes.pod.namespace) match the regular
// expressions, newest first, cut to 1 with `latest` or to `last` when > 0.
struct ContainerListFilter {
  std::string name_regexp;
  std::string namespace_regexp;
  bool latest = false;
  int last = 0;
};
std::vector<::runtime::v1::Container> SelectContainers(
    std::vector<::runtime::v1::Container> containers, const ContainerListFilter& filter);

// `ps` table: CONTAINER, IMAGE, CREATED, STATE, NAME, ATTEMPT, POD ID, POD, NAMESPACE. Without
// `no_trunc` IDs are cut to 13 characters and an image that is a digest to its 13 hex digits.
std::string FormatContainersTable(const std::vector<::runtime::v1::Container>& containers,
                                  bool no_trunc, std::chrono::system_clock::time_point now);
// `ps -v`.
std::string FormatContainersVerbose(const std::vector<::runtime::v1::Container>& containers,
                                    std::chrono::system_clock::time_point now);
// `inspect -o table`.
std::string FormatContainerStatusTable(const ::runtime::v1::ContainerStatusResponse& r,
                                       bool verbose, std::chrono::system_clock::time_point now);

// Whether `image` is "<algorithm>:<hex>" as go-digest parses it (sha256/sha384/sha512 with
// the right number of lower-case hex digits).
bool IsDigest(const std::string& image);

}  // namespace berth::cli
