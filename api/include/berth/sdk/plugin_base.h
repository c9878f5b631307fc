#pragma once
// berth::sdk::PluginBase: what every plugin class derives from (through RuntimePlugin,
// SnapshotterPlugin or NetworkPlugin, never directly).
//
// Lifecycle, driven by the thunks that BERTH_EXPORT_PLUGIN generates (berth/sdk/export.h):
//   1. default-construct the class (keep constructors trivial: they cannot report errors);
//   2. Init(config_json) once; a non-OK status or an exception means the plugin failed to
//      start: it is destroyed and reported as an error by berthd;
//   3. the typed methods, by name, possibly from several threads at once (see kPluginFlags);
//   4. the destructor, after every call has returned. Join your threads there: the Host must
//      not be used after it.
//
// Exceptions escaping Init or a method become a status (std::bad_alloc: RESOURCE_EXHAUSTED,
// anything else: INTERNAL with the exception's what()); they never cross the C ABI.

#include <climits>
#include <cstdint>
#include <string>
#include <string_view>

#include "berth/plugin_abi.h"
#include "berth/sdk/host.h"
#include "berth/sdk/status.h"

namespace berth::sdk {

namespace internal {
struct Access;
}  // namespace internal

class PluginBase {
 public:
  // BERTH_PLUGIN_FLAG_* for the descriptor. 0: methods may run concurrently, so the plugin
  // synchronises its own state. A plugin class that would rather have berthd call it one method
  // at a time declares, in its own body:
  //   static constexpr uint64_t kPluginFlags = BERTH_PLUGIN_FLAG_SERIALIZE_INVOKE;
  static constexpr uint64_t kPluginFlags = 0;

  PluginBase() = default;
  PluginBase(const PluginBase&) = delete;
  PluginBase& operator=(const PluginBase&) = delete;
  virtual ~PluginBase() = default;

  // `config_json` is this plugin's section of berthd's config file, a JSON object ("{}" when
  // absent). Parse it with any JSON library; reject unknown keys with INVALID_ARGUMENT.
  virtual Status Init(std::string_view config_json) {
    (void)config_json;
    return OkStatus();
  }

  // Parses `request` as the method's request type, calls the typed method and serializes its
  // response into `response`. Implemented by the typed bases; UNIMPLEMENTED for unknown names.
  virtual Status Dispatch(std::string_view method, std::string_view request,
                          std::string* response) = 0;

 protected:
  // Logging and events towards berthd; valid from Init() until the destructor.
  const Host& host() const { return host_; }

 private:
  friend struct internal::Access;
  Host host_;
};

namespace internal {

// Lets the export thunks attach the host before Init() without making it public API.
struct Access {
  static void AttachHost(PluginBase& plugin, const berth_host_api* api) {
    plugin.host_ = Host(api);
  }
};

// One typed call: parse, call, serialize. Fn: Status(const Req&, Resp*).
template <typename Req, typename Resp, typename Fn>
Status Call(std::string_view method, std::string_view request, std::string* response, Fn&& fn) {
  Req req;
  if (request.size() > static_cast<size_t>(INT_MAX) ||
      !req.ParseFromArray(request.data(), static_cast<int>(request.size()))) {
    return InvalidArgument(std::string(method) + ": request is not a valid " + req.GetTypeName());
  }
  Resp resp;
  Status status = fn(req, &resp);
  if (!status.ok()) return status;
  if (!resp.SerializeToString(response)) {
    return Internal(std::string(method) + ": cannot serialize " + resp.GetTypeName());
  }
  return status;
}

inline Status UnknownMethod(std::string_view type, std::string_view method) {
  return Unimplemented(std::string(type) + " has no method \"" + std::string(method) + "\"");
}

inline Status NotImplemented(std::string_view method) {
  return Unimplemented(std::string(method) + " is not implemented by this plugin");
}

}  // namespace internal
}  // namespace berth::sdk

// Inside a typed base's Dispatch(): routes the rpc named `Rpc` to the virtual Fn(req, resp).
#define BERTH_SDK_ROUTE_AS(Rpc, Fn, Req, Resp)                                          \
  if (method == Rpc) {                                                                  \
    return ::berth::sdk::internal::Call<Req, Resp>(                                     \
        method, request, response, [this](const Req& q, Resp* p) { return Fn(q, p); }); \
  }
// The common case: the virtual has the rpc's name.
#define BERTH_SDK_ROUTE(Name, Req, Resp) BERTH_SDK_ROUTE_AS(#Name, Name, Req, Resp)
