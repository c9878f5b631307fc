#pragma once
// berth::sdk::Host: the plugin's view of berthd (the C berth_host_api, typed).
//
// A Host is a small value that borrows the host API table; the table stays valid until the
// plugin instance is destroyed, so keep Hosts (and threads using them) no longer than the
// instance. All methods are thread-safe and never throw. A default-constructed Host is detached:
// it drops logs and events (handy when unit-testing plugin code without berthd).

#include <cstddef>
#include <string>
#include <string_view>

#include <google/protobuf/message_lite.h>

#include "berth/plugin_abi.h"
#include "berth/sdk/status.h"

namespace berth::sdk {

enum class LogLevel : int {
  kDebug = BERTH_LOG_DEBUG,
  kInfo = BERTH_LOG_INFO,
  kWarn = BERTH_LOG_WARN,
  kError = BERTH_LOG_ERROR,
};

class Host {
 public:
  Host() = default;
  explicit Host(const berth_host_api* api) : api_(api) {}

  bool attached() const { return api_ != nullptr; }

  // One log line; berthd adds the plugin's name and its own time and level fields.
  void Log(LogLevel level, std::string_view msg) const noexcept {
    if (Has(offsetof(berth_host_api, log)) && api_->log != nullptr) {
      api_->log(api_->ctx, static_cast<int>(level), msg.data(), msg.size());
    }
  }
  void Debug(std::string_view msg) const noexcept { Log(LogLevel::kDebug, msg); }
  void Info(std::string_view msg) const noexcept { Log(LogLevel::kInfo, msg); }
  void Warn(std::string_view msg) const noexcept { Log(LogLevel::kWarn, msg); }
  void Error(std::string_view msg) const noexcept { Log(LogLevel::kError, msg); }

  // This instance's own directories (see berth_host_api): persistent and runtime state.
  // Empty when detached or when the host offers none.
  std::string_view root_dir() const noexcept { return Dir(offsetof(berth_host_api, root_dir)); }
  std::string_view state_dir() const noexcept { return Dir(offsetof(berth_host_api, state_dir)); }

  // Publishes `event` on `topic` (e.g. "/tasks/exit" with a TaskExitEvent). OK when detached.
  Status PublishEvent(std::string_view topic,
                      const google::protobuf::MessageLite& event) const noexcept {
    try {
      std::string bytes;
      if (!event.SerializeToString(&bytes)) {
        return Internal("cannot serialize event " + event.GetTypeName());
      }
      return PublishRaw(topic, bytes);
    } catch (...) {
      return Status(Code::kResourceExhausted, "out of memory serializing an event");
    }
  }

  // As PublishEvent, with already serialized bytes.
  Status PublishRaw(std::string_view topic, std::string_view bytes) const noexcept {
    if (!Has(offsetof(berth_host_api, publish_event)) || api_->publish_event == nullptr) {
      return OkStatus();
    }
    try {
      std::string t(topic);  // the ABI wants it NUL-terminated
      int code = api_->publish_event(api_->ctx, t.c_str(),
                                     reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
      if (code == BERTH_STATUS_OK) return OkStatus();
      return Status(static_cast<Code>(code), "host refused event on " + t);
    } catch (...) {
      return Status(Code::kResourceExhausted, "out of memory publishing an event");
    }
  }

 private:
  // Whether the host's table is large enough to hold the function pointer at `offset`: a
  // newer SDK may know functions an older berthd does not offer.
  bool Has(size_t offset) const noexcept {
    return api_ != nullptr && api_->struct_size >= offset + sizeof(void (*)());
  }

  std::string_view Dir(size_t offset) const noexcept {
    if (!Has(offset)) return {};
    const char* dir =
        *reinterpret_cast<const char* const*>(reinterpret_cast<const char*>(api_) + offset);
    return dir ? std::string_view(dir) : std::string_view();
  }

  const berth_host_api* api_ = nullptr;
};

}  // namespace berth::sdk
