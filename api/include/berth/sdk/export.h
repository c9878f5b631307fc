#pragma once
// BERTH_EXPORT_PLUGIN: turns a plugin class into a loadable berth plugin library.
//
//   class Hello final : public berth::sdk::NetworkPlugin { ... };
//   BERTH_EXPORT_PLUGIN(Hello, "hello", "1.0.0")
//   BERTH_EXPORT_PLUGIN(Overlay, "overlay", "1.0.0", "io.berth.runtime.v1/native")  // requires
//
// Use it once per library, at global scope, in one .cc file. It defines the C entry symbol
// (berth_plugin_entry, the only exported symbol when the library is built with
// -fvisibility=hidden, as berth_add_plugin does) and a descriptor whose type comes from the
// class's base (RuntimePlugin, SnapshotterPlugin or NetworkPlugin) and whose flags come from
// Class::kPluginFlags. The trailing arguments are the plugins this one requires, each
// "<type>/<name>"; berthd creates them first.
//
// The thunks behind the vtable are noexcept: an exception from the constructor, Init() or a
// method becomes a status code and message; buffers are malloc()ed and released by free().

#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

#include "berth/plugin_abi.h"
#include "berth/sdk/plugin_base.h"
#include "berth/sdk/status.h"

namespace berth::sdk::internal {

// malloc()ed NUL-terminated copy, or nullptr when out of memory.
inline char* CopyToCString(std::string_view s) noexcept {
  char* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (p == nullptr) return nullptr;
  std::memcpy(p, s.data(), s.size());
  p[s.size()] = '\0';
  return p;
}

// Returns the status's code; hands its message out through *error_out (when wanted).
inline int ReportStatus(const Status& status, char** error_out) noexcept {
  if (error_out != nullptr && !status.message().empty()) {
    *error_out = CopyToCString(status.message());
  }
  return status.ok() ? BERTH_STATUS_UNKNOWN : static_cast<int>(status.code());
}

// Call from a catch block only: the in-flight exception as a status code + message, prefixed
// with `where` unless it is empty.
inline int ReportCurrentException(const char* where, char** error_out) noexcept {
  const char* what = "a non-standard exception";
  int code = BERTH_STATUS_INTERNAL;
  try {
    throw;
  } catch (const std::bad_alloc&) {
    code = BERTH_STATUS_RESOURCE_EXHAUSTED;
    what = "out of memory";
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
  }
  try {
    std::string msg = std::string(where) + (*where ? ": " : "") + "uncaught exception: " + what;
    return ReportStatus(Status(static_cast<Code>(code), std::move(msg)), error_out);
  } catch (...) {
    return code;  // no memory left for the message
  }
}

template <typename T>
int CreateThunk(const char* config_json, size_t config_len, const berth_host_api* host,
                void** instance_out, char** error_out) noexcept {
  try {
    T* plugin = new T();
    Access::AttachHost(*plugin, host);
    Status status;
    try {
      status = plugin->Init(std::string_view(config_json, config_len));
    } catch (...) {
      delete plugin;
      throw;
    }
    if (!status.ok()) {
      delete plugin;
      return ReportStatus(status, error_out);
    }
    *instance_out = static_cast<PluginBase*>(plugin);
    return BERTH_STATUS_OK;
  } catch (...) {
    return ReportCurrentException("Init", error_out);
  }
}

inline void DestroyThunk(void* instance) noexcept { delete static_cast<PluginBase*>(instance); }

inline int InvokeThunk(void* instance, const char* method, const uint8_t* req, size_t req_len,
                       uint8_t** resp_out, size_t* resp_len, char** error_out) noexcept {
  try {
    std::string response;
    std::string_view request(reinterpret_cast<const char*>(req), req != nullptr ? req_len : 0);
    Status status = static_cast<PluginBase*>(instance)->Dispatch(method, request, &response);
    if (!status.ok()) return ReportStatus(status, error_out);
    *resp_len = response.size();
    *resp_out = nullptr;
    if (!response.empty()) {
      *resp_out = static_cast<uint8_t*>(std::malloc(response.size()));
      if (*resp_out == nullptr) throw std::bad_alloc();
      std::memcpy(*resp_out, response.data(), response.size());
    }
    return BERTH_STATUS_OK;
  } catch (...) {
    *resp_len = 0;
    return ReportCurrentException("", error_out);  // the host names the method
  }
}

inline void FreeBufferThunk(void* ptr) noexcept { std::free(ptr); }

template <typename T>
inline constexpr berth_plugin_vtable kVtable = {
    sizeof(berth_plugin_vtable), 0, &CreateThunk<T>, &DestroyThunk, &InvokeThunk, &FreeBufferThunk,
};

}  // namespace berth::sdk::internal

#define BERTH_EXPORT_PLUGIN(Class, name, version, ...)                                     \
  static_assert(std::is_base_of_v<::berth::sdk::PluginBase, Class>,                        \
                #Class " must derive from a berth::sdk plugin base class");                \
  static_assert(std::is_default_constructible_v<Class>,                                    \
                #Class " must be default-constructible (configure it in Init())");         \
  extern "C" BERTH_PLUGIN_EXPORT const berth_plugin_descriptor* berth_plugin_entry(void) { \
    static constexpr const char* kBerthRequires[] = {__VA_ARGS__ __VA_OPT__(, ) nullptr};  \
    static constexpr berth_plugin_descriptor kBerthDescriptor = {                          \
        BERTH_PLUGIN_ABI_VERSION,                                                          \
        sizeof(berth_plugin_descriptor),                                                   \
        Class::kPluginType,                                                                \
        name,                                                                              \
        version,                                                                           \
        kBerthRequires,                                                                    \
        &::berth::sdk::internal::kVtable<Class>,                                           \
        Class::kPluginFlags,                                                               \
    };                                                                                     \
    return &kBerthDescriptor;                                                              \
  }
