#pragma once
// The cni plugin's own configuration (its section of berthd's config) and the CNI network
// configuration lists it reads from conf_dir (CNI spec "Section 1: Network configuration
// format"). Pure data + parsing; no process execution.

#include <sys/types.h>

#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace berth::cni {

// Plugin config keys (unknown keys are INVALID_ARGUMENT); see docs/configuration.md.
struct PluginConfig {
  std::string conf_dir = "/etc/cni/net.d";
  std::vector<std::string> bin_dirs = {"/opt/cni/bin", "/usr/lib/cni"};
  std::string cache_dir;  // empty: the caller fills in the host's root (or state) dir
  std::string interface = "eth0";
};

// Parses `json_text` (a JSON object). Checks: absolute paths, a valid interface name.
Result<PluginConfig> ParsePluginConfig(std::string_view json_text);

// True for a Linux interface name CNI accepts: 1-15 bytes, no '/', ':', whitespace, not "."/"..".
bool ValidInterfaceName(std::string_view name);

// One network configuration list, normalised: a single-plugin .conf is wrapped into a list.
struct NetworkList {
  std::string name;
  std::string cni_version;  // the version used on the wire (from cniVersion / cniVersions)
  bool disable_check = false;
  bool disable_gc = false;
  std::vector<nlohmann::json> plugins;  // each a plugin object with at least "type"
  std::string source;                   // the file it came from (for messages)

  // The whole list as JSON (what the per-pod cache stores, to rebuild it exactly).
  nlohmann::json ToJson() const;
  static Result<NetworkList> FromJson(const nlohmann::json& j, std::string source);
};

// Parses one conf file's content. `.conflist` files are lists; `.conf`/`.json` files hold a
// single plugin object (or, leniently, a list when they have "plugins"). INVALID_ARGUMENT says
// what is wrong.
Result<NetworkList> ParseNetworkFile(std::string_view text, const std::string& path);

// The CNI versions this runtime speaks; the highest of `cniVersions` it knows is chosen.
bool KnownCniVersion(std::string_view v);
// -1, 0, 1 comparing dotted versions numerically ("0.4.0" < "1.0.0" < "1.1.0").
int CompareVersions(std::string_view a, std::string_view b);

// Loads the first valid network list of a directory, by file name order, among *.conflist,
// *.conf and *.json; re-reads only when the directory or a file it read changed (mtime/size).
// Not thread-safe (the owner locks).
class ConfigWatcher {
 public:
  explicit ConfigWatcher(std::string dir) : dir_(std::move(dir)) {}

  // The current list, or FAILED_PRECONDITION with why none is usable (message names the dir
  // and, per rejected file, the reason).
  Result<NetworkList> Current();

 private:
  struct Stamp {
    timespec mtime{};
    off_t size = -1;
    bool operator==(const Stamp& o) const {
      return mtime.tv_sec == o.mtime.tv_sec && mtime.tv_nsec == o.mtime.tv_nsec && size == o.size;
    }
  };
  static Stamp StampOf(const std::string& path);
  void Reload();

  std::string dir_;
  bool loaded_ = false;
  Stamp dir_stamp_;
  // Every file read at the last reload (the rejected ones before the chosen one, and the chosen
  // one): an in-place edit of any of them can change which list is current.
  std::vector<std::pair<std::string, Stamp>> files_;
  std::optional<NetworkList> list_;
  std::string why_not_;
};

}  // namespace berth::cni
