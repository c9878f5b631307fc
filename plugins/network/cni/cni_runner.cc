#include "plugins/network/cni/cni_runner.h"

#include "plugins/network/cni/cni_exec.h"
#include "plugins/network/cni/cni_result.h"

namespace berth::cni {
namespace {

std::string TypeOf(const nlohmann::json& plugin) { return plugin.at("type").get<std::string>(); }

}  // namespace

nlohmann::json Runner::PluginStdin(const NetworkList& list, const nlohmann::json& plugin,
                                   const nlohmann::json& capability_args,
                                   const nlohmann::json& prev_result) {
  nlohmann::json conf = plugin;
  conf["name"] = list.name;
  conf["cniVersion"] = list.cni_version;
  if (!prev_result.is_null()) conf["prevResult"] = prev_result;
  nlohmann::json rc = nlohmann::json::object();
  if (plugin.contains("capabilities") && plugin["capabilities"].is_object() &&
      capability_args.is_object()) {
    for (const auto& [cap, enabled] : plugin["capabilities"].items()) {
      if (enabled.is_boolean() && enabled.get<bool>() && capability_args.contains(cap)) {
        rc[cap] = capability_args[cap];
      }
    }
  }
  if (!rc.empty()) conf["runtimeConfig"] = rc;
  return conf;
}

std::vector<std::string> Runner::Env(const std::string& command, const Attachment* att) const {
  std::vector<std::string> env = BaseEnvironment();
  std::string path;
  for (const auto& d : bin_dirs_) path += (path.empty() ? "" : ":") + d;
  env.push_back("CNI_COMMAND=" + command);
  env.push_back("CNI_PATH=" + path);
  if (att != nullptr) {
    std::string args;
    for (const auto& [k, v] : att->cni_args) args += (args.empty() ? "" : ";") + k + "=" + v;
    env.push_back("CNI_CONTAINERID=" + att->pod_id);
    env.push_back("CNI_NETNS=" + att->netns);
    env.push_back("CNI_IFNAME=" + att->ifname);
    env.push_back("CNI_ARGS=" + args);
  }
  return env;
}

Result<std::string> Runner::Run(const std::string& command, const nlohmann::json& plugin,
                                const std::vector<std::string>& env,
                                const nlohmann::json& stdin_json) const {
  const std::string type = TypeOf(plugin);
  Result<std::string> bin = FindPluginBinary(type, bin_dirs_);
  if (!bin.ok()) return bin.status().Wrap(command);
  Result<ExecResult> r = ExecPlugin(*bin, env, stdin_json.dump(), timeout_);
  if (!r.ok()) return r.status().Wrap("CNI plugin \"" + type + "\" " + command);
  if (r->exit_code != 0) {
    // CNI code 11 is "try again later"; everything else is the plugin's verdict.
    StatusCode code = ErrorCode(r->out) == 11 ? StatusCode::kUnavailable : StatusCode::kInternal;
    return Status(code, DescribeFailure(type, command, r->exit_code, r->out, r->err));
  }
  return std::move(r->out);
}

Result<nlohmann::json> Runner::Add(const NetworkList& list, const Attachment& att) const {
  std::vector<std::string> env = Env("ADD", &att);
  nlohmann::json prev;  // null
  for (const auto& plugin : list.plugins) {
    Result<std::string> out =
        Run("ADD", plugin, env, PluginStdin(list, plugin, att.capability_args, prev));
    if (!out.ok()) return out.status();
    nlohmann::json result = nlohmann::json::parse(*out, nullptr, false);
    if (!result.is_object()) {
      return Internal("CNI plugin \"" + TypeOf(plugin) + "\" ADD printed no JSON result");
    }
    prev = std::move(result);
  }
  return prev;
}

Status Runner::Del(const NetworkList& list, const Attachment& att) const {
  std::vector<std::string> env = Env("DEL", &att);
  // prevResult on DEL exists since 0.4.0.
  nlohmann::json prev =
      CompareVersions(list.cni_version, "0.4.0") >= 0 ? att.result : nlohmann::json();
  Status first;
  for (auto it = list.plugins.rbegin(); it != list.plugins.rend(); ++it) {
    Result<std::string> out =
        Run("DEL", *it, env, PluginStdin(list, *it, att.capability_args, prev));
    if (!out.ok()) {
      if (warn_) warn_(out.status().message());
      if (first.ok()) first = out.status();
    }
  }
  return first;
}

Status Runner::Check(const NetworkList& list, const Attachment& att) const {
  if (CompareVersions(list.cni_version, "0.4.0") < 0 || list.disable_check) return OkStatus();
  std::vector<std::string> env = Env("CHECK", &att);
  for (const auto& plugin : list.plugins) {
    Result<std::string> out =
        Run("CHECK", plugin, env, PluginStdin(list, plugin, att.capability_args, att.result));
    if (!out.ok()) return out.status();
  }
  return OkStatus();
}

Status Runner::Gc(const NetworkList& list,
                  const std::vector<std::pair<std::string, std::string>>& valid) const {
  if (CompareVersions(list.cni_version, "1.1.0") < 0 || list.disable_gc) return OkStatus();
  nlohmann::json attachments = nlohmann::json::array();
  for (const auto& [id, ifname] : valid)
    attachments.push_back({{"containerID", id}, {"ifname", ifname}});
  std::vector<std::string> env = Env("GC", nullptr);
  Status first;
  for (const auto& plugin : list.plugins) {
    nlohmann::json in = PluginStdin(list, plugin, nullptr, nullptr);
    in["cni.dev/valid-attachments"] = attachments;
    Result<std::string> out = Run("GC", plugin, env, in);
    if (!out.ok() && first.ok()) first = out.status();
  }
  return first;
}

Status Runner::PluginStatus(const NetworkList& list) const {
  if (CompareVersions(list.cni_version, "1.1.0") < 0) return OkStatus();
  std::vector<std::string> env = Env("STATUS", nullptr);
  for (const auto& plugin : list.plugins) {
    Result<std::string> out =
        Run("STATUS", plugin, env, PluginStdin(list, plugin, nullptr, nullptr));
    if (!out.ok()) return out.status();
  }
  return OkStatus();
}

Status Runner::CheckBinaries(const NetworkList& list) const {
  for (const auto& plugin : list.plugins) {
    Result<std::string> bin = FindPluginBinary(TypeOf(plugin), bin_dirs_);
    if (!bin.ok()) return bin.status();
  }
  return OkStatus();
}

}  // namespace berth::cni
