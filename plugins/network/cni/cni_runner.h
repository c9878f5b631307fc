#pragma once
// Running a network configuration list: ADD in order with prevResult chaining, DEL in reverse,
// CHECK, and the CNI 1.1 GC and STATUS verbs (spec "Section 4: Plugin Delegation"/"Section 3:
// Execution of Network Configurations"). Stateless apart from its settings; thread-safe.

#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "plugins/network/cni/cni_cache.h"
#include "plugins/network/cni/cni_config.h"

namespace berth::cni {

class Runner {
 public:
  // Receives a warning line (a DEL that failed but was carried on past, plugin stderr, ...).
  using WarnFn = std::function<void(const std::string&)>;

  Runner(std::vector<std::string> bin_dirs, std::chrono::milliseconds timeout, WarnFn warn)
      : bin_dirs_(std::move(bin_dirs)), timeout_(timeout), warn_(std::move(warn)) {}

  // ADD of every plugin in order; each gets the previous one's result as prevResult. Returns
  // the last result. Stops at the first failure (the caller runs Del to undo).
  Result<nlohmann::json> Add(const NetworkList& list, const Attachment& att) const;
  // DEL of every plugin in reverse order with `att.result` as prevResult (when the list's
  // version has one). Carries on past failures so that as much as possible is freed; returns
  // the first failure.
  Status Del(const NetworkList& list, const Attachment& att) const;
  // CHECK (versions >= 0.4.0 without disableCheck; OK otherwise).
  Status Check(const NetworkList& list, const Attachment& att) const;
  // GC of every plugin with cni.dev/valid-attachments = `valid` (containerID, ifname). Only
  // for versions >= 1.1.0 without disableGC; OK otherwise.
  Status Gc(const NetworkList& list,
            const std::vector<std::pair<std::string, std::string>>& valid) const;
  // STATUS of every plugin (versions >= 1.1.0; OK otherwise). The error names the plugin.
  Status PluginStatus(const NetworkList& list) const;
  // NOT_FOUND naming the first plugin type without a binary in bin_dirs; OK when all exist.
  Status CheckBinaries(const NetworkList& list) const;

  // The stdin config of one plugin: its object plus name, cniVersion, prevResult (when not
  // null) and runtimeConfig holding the capability args the plugin declares in "capabilities".
  static nlohmann::json PluginStdin(const NetworkList& list, const nlohmann::json& plugin,
                                    const nlohmann::json& capability_args,
                                    const nlohmann::json& prev_result);

 private:
  // Runs one plugin; returns its stdout on exit 0, else a Status describing the failure.
  Result<std::string> Run(const std::string& command, const nlohmann::json& plugin,
                          const std::vector<std::string>& env,
                          const nlohmann::json& stdin_json) const;
  std::vector<std::string> Env(const std::string& command, const Attachment* att) const;

  std::vector<std::string> bin_dirs_;
  std::chrono::milliseconds timeout_;
  WarnFn warn_;
};

}  // namespace berth::cni
