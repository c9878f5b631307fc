#pragma once
// PluginHandle: one live plugin instance, and the way berthd calls it.
//
// Ownership: a handle owns its instance (destroy() runs in the destructor) and holds a
// reference to the PluginLibrary that made it, so the code of the instance stays loaded at
// least as long as the instance. PluginHost owns the handles and destroys them in reverse
// creation order; callers borrow them (PluginHost::Find) for no longer than the host lives.
//
// Thread-safety: Invoke() may be called concurrently from any thread. When the plugin's
// descriptor sets BERTH_PLUGIN_FLAG_SERIALIZE_INVOKE the handle serialises the calls itself.
// The accessors are immutable. Destruction must not race with Invoke().

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <google/protobuf/message_lite.h>

#include "berth/plugin_abi.h"
#include "common/log.h"
#include "common/status.h"
#include "cri/plugin_host/plugin_event_bus.h"
#include "cri/plugin_host/plugin_library.h"

namespace berth {

class PluginHandle {
 public:
  // Calls the plugin's create() with `config_json` (a JSON object). `logger` receives the
  // plugin's log lines (callers add the plugin's fields); `events` its published events and
  // must outlive the handle. On failure the plugin's own message (or its status code) is in
  // the returned status, whose code is the plugin's.
  // `dirs` become the instance's root_dir/state_dir (already created by the caller, or empty).
  struct Dirs {
    std::string root;
    std::string state;
  };
  static Result<std::unique_ptr<PluginHandle>> Create(std::shared_ptr<PluginLibrary> library,
                                                      const std::string& config_json, Logger logger,
                                                      const PluginEventBus* events, Dirs dirs = {});

  PluginHandle(const PluginHandle&) = delete;
  PluginHandle& operator=(const PluginHandle&) = delete;
  ~PluginHandle();  // destroy() the instance, then release the library

  const std::string& type() const { return library_->type(); }
  const std::string& name() const { return library_->name(); }
  const std::string& version() const { return library_->version(); }

  // Calls `method` (an rpc name of the plugin kind's proto service) with `req`, and parses the
  // answer into `resp` (may be null when the caller does not need it). The plugin's status code
  // becomes the returned code (numbers outside gRPC's become UNKNOWN); its message is kept,
  // prefixed with "<type>/<name> <method>: ". INTERNAL when the response does not parse.
  Status Invoke(std::string_view method, const google::protobuf::MessageLite& req,
                google::protobuf::MessageLite* resp) const;

  // As Invoke(), with serialized bytes both ways.
  Result<std::string> InvokeRaw(std::string_view method, std::string_view request) const;

 private:
  PluginHandle(std::shared_ptr<PluginLibrary> library, Logger logger, const PluginEventBus* events,
               Dirs dirs);
  Status CallInvoke(std::string_view method, std::string_view request, std::string* response) const;
  Status PluginError(std::string_view what, int code, char* message) const;

  // The host API handed to the plugin; ctx is the handle itself.
  static void HostLog(void* ctx, int level, const char* msg, size_t len) noexcept;
  static int HostPublishEvent(void* ctx, const char* topic, const uint8_t* data,
                              size_t len) noexcept;

  std::shared_ptr<PluginLibrary> library_;  // first member: released last
  Logger logger_;
  const PluginEventBus* events_;
  std::string key_;  // "<type>/<name>"
  Dirs dirs_;        // host_api_ points into these strings
  berth_host_api host_api_{};
  void* instance_ = nullptr;
  bool created_ = false;
  bool serialize_;
  mutable std::mutex invoke_mu_;  // used only when serialize_
};

}  // namespace berth
