#pragma once
// crictl's pod verbs: runp, stopp, rmp, pods, inspectp.

#include <chrono>
#include <string>
#include <vector>

#include "api/cri.h"
#include "cli/command.h"

namespace berth::cli {

void AddPodsCommands(CLI::App& root, CommandList& commands);

// crictl's getSandboxesList: the pods whose name and namespace match the regular expressions
// (empty: any), newest first, cut to 1 with `latest` or to `last` when > 0.
struct PodListFilter {
  std::string name_regexp;
  std::string namespace_regexp;
  bool latest = false;
  int last = 0;
};
std::vector<::runtime::v1::PodSandbox> SelectPods(std::vector<::runtime::v1::PodSandbox> pods,
                                                  const PodListFilter& filter);

// `pods` table: POD ID, CREATED, STATE, NAME, NAMESPACE, ATTEMPT, RUNTIME.
std::string FormatPodsTable(const std::vector<::runtime::v1::PodSandbox>& pods, bool no_trunc,
                            std::chrono::system_clock::time_point now);
// `pods -v`: "ID: …", "Name: …", … "Runtime: …" and a blank line per pod.
std::string FormatPodsVerbose(const std::vector<::runtime::v1::PodSandbox>& pods);
// `inspectp -o table`.
std::string FormatPodStatusTable(const ::runtime::v1::PodSandboxStatusResponse& r, bool verbose);

}  // namespace berth::cli
