#pragma once
// PluginHost: finds, loads, checks, creates and owns berthd's plugins (DESIGN.md §3).
//
//   PluginHost host(logger, config.plugins);
//   host.SetEventSink(...);               // optional, any time
//   host.LoadAll(config.plugin_dirs);     // once
//   if (PluginHandle* net = host.Find(BERTH_PLUGIN_TYPE_NETWORK, "cni")) {
//     BERTH_RETURN_IF_ERROR(net->Invoke("Setup", req, &resp));
//   }
//
// LoadAll() never fails as a whole: every library that is not a usable plugin (cannot be
// loaded, no entry symbol, other ABI version, bad struct size, unknown type, duplicate
// type/name, missing or failed requirement, dependency cycle, create() failed) is recorded with
// status "error" and a sentence saying why, logged at error level with its path, name and
// error, and the others load. Plugins are created in dependency order.
//
// Configuration: `config` maps a plugin to its section (a JSON object), handed to its create().
// A key "<type>/<name>" wins over a key "<name>" (names are unique per type only, e.g. a runtime
// and a snapshotter may both be called "native"); no key means "{}".
//
// Lifetime: the destructor destroys the instances in reverse creation order (dependents before
// what they depend on), then unloads the libraries: no code is unloaded while an instance it
// made exists. Handles returned by Find() must not be used after that.
//
// Thread-safety: LoadAll() must complete before any other call from another thread (berthd calls
// it before serving). After that List(), Find() and PluginHandle::Invoke() are safe from any
// thread concurrently; SetEventSink() is safe at any time. Destruction must not race with calls.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/log.h"
#include "cri/plugin_host/plugin_event_bus.h"
#include "cri/plugin_host/plugin_handle.h"
#include "cri/plugin_host/plugin_library.h"

namespace berth {

// One library found in a plugin directory, usable or not (what `berthctl plugins` shows).
struct PluginRecord {
  std::string type;  // empty when the library could not tell (no descriptor)
  std::string name;  // ditto
  std::string version;
  std::string path;                       // the .so file
  std::string status;                     // "ok" or "error"
  std::string error;                      // why not usable; empty when ok
  std::vector<std::string> requirements;  // "<type>/<name>" it requires
};

class PluginHost {
 public:
  using EventSink = PluginEventBus::Sink;

  // `root` and `state` are berthd's directories: each plugin instance gets its own
  // <root>/plugins/<type>/<name> and <state>/plugins/<type>/<name> (created 0700 before its
  // create(); a failure to create them rejects the plugin). Empty: plugins get no directories.
  PluginHost(Logger logger, nlohmann::json config, std::string root = "", std::string state = "");
  PluginHost(const PluginHost&) = delete;
  PluginHost& operator=(const PluginHost&) = delete;
  ~PluginHost();

  // Loads every *.so in `dirs` (see FindPluginFiles: order, duplicates, missing dirs) and
  // creates the plugins. Call once; a second call is logged as an error and ignored.
  void LoadAll(const std::vector<std::string>& dirs);

  // Every library found, in discovery order.
  std::vector<PluginRecord> List() const;

  // The created plugin of that type and name; nullptr when there is none or it failed.
  // The handle lives as long as the host.
  PluginHandle* Find(std::string_view type, std::string_view name) const;

  // Every created plugin of `type`, in creation order.
  std::vector<PluginHandle*> FindAll(std::string_view type) const;

  // Receives the events plugins publish (see PluginEventBus for the sink's contract).
  void SetEventSink(EventSink sink) { events_.SetSink(std::move(sink)); }

 private:
  struct Entry {
    PluginRecord record;
    std::shared_ptr<PluginLibrary> library;  // null once rejected
    std::unique_ptr<PluginHandle> handle;    // null unless created
  };

  void Reject(Entry& entry, std::string error);
  std::string ConfigFor(const std::string& type, const std::string& name);
  Result<PluginHandle::Dirs> MakeDirsFor(const std::string& type, const std::string& name) const;
  void CreateInOrder();
  void WarnAboutUnusedConfig() const;

  PluginEventBus events_;  // first: outlives every handle that publishes into it
  Logger logger_;
  nlohmann::json config_;
  std::string root_, state_;
  bool loaded_ = false;
  std::vector<Entry> entries_;          // discovery order
  std::vector<size_t> creation_order_;  // indices into entries_
};

}  // namespace berth
