#include "cri/plugin_host/plugin_handle.h"

#include <climits>
#include <utility>

namespace berth {
namespace {

StatusCode CodeFromPlugin(int code) {
  if (code < 0 || code > static_cast<int>(StatusCode::kUnauthenticated)) {
    return StatusCode::kUnknown;
  }
  return static_cast<StatusCode>(code);
}

LogLevel LevelFromPlugin(int level) {
  switch (level) {
    case BERTH_LOG_DEBUG:
      return LogLevel::kDebug;
    case BERTH_LOG_WARN:
      return LogLevel::kWarn;
    case BERTH_LOG_ERROR:
      return LogLevel::kError;
    default:
      return LogLevel::kInfo;
  }
}

}  // namespace

PluginHandle::PluginHandle(std::shared_ptr<PluginLibrary> library, Logger logger,
                           const PluginEventBus* events, Dirs dirs)
    : library_(std::move(library)),
      logger_(std::move(logger)),
      events_(events),
      key_(library_->key()),
      dirs_(std::move(dirs)),
      serialize_((library_->flags() & BERTH_PLUGIN_FLAG_SERIALIZE_INVOKE) != 0) {
  host_api_.struct_size = sizeof(berth_host_api);
  host_api_.ctx = this;
  host_api_.log = &PluginHandle::HostLog;
  host_api_.publish_event = &PluginHandle::HostPublishEvent;
  host_api_.root_dir = dirs_.root.c_str();
  host_api_.state_dir = dirs_.state.c_str();
}

Result<std::unique_ptr<PluginHandle>> PluginHandle::Create(std::shared_ptr<PluginLibrary> library,
                                                           const std::string& config_json,
                                                           Logger logger,
                                                           const PluginEventBus* events,
                                                           Dirs dirs) {
  std::unique_ptr<PluginHandle> h(
      new PluginHandle(std::move(library), std::move(logger), events, std::move(dirs)));
  void* instance = nullptr;
  char* error = nullptr;
  int code = h->library_->vtable().create(config_json.c_str(), config_json.size(), &h->host_api_,
                                          &instance, &error);
  if (code != BERTH_STATUS_OK) return h->PluginError("create failed", code, error);
  h->library_->vtable().free_buffer(error);  // a message with success: ignored
  h->instance_ = instance;
  h->created_ = true;
  return h;
}

PluginHandle::~PluginHandle() {
  if (created_) library_->vtable().destroy(instance_);
  // library_ is released after this body: the instance is gone before its code can be.
}

Status PluginHandle::PluginError(std::string_view what, int code, char* message) const {
  std::string text;
  if (message != nullptr) {
    text = message;
    library_->vtable().free_buffer(message);
  }
  if (text.empty()) text = "failed with status " + std::to_string(code) + " and no message";
  return Status(CodeFromPlugin(code), std::string(what) + ": " + text);
}

Status PluginHandle::CallInvoke(std::string_view method, std::string_view request,
                                std::string* response) const {
  std::string method_z(method);  // the ABI wants it NUL-terminated
  uint8_t* out = nullptr;
  size_t out_len = 0;
  char* error = nullptr;
  int code;
  {
    std::unique_lock<std::mutex> lock(invoke_mu_, std::defer_lock);
    if (serialize_) lock.lock();
    code = library_->vtable().invoke(instance_, method_z.c_str(),
                                     reinterpret_cast<const uint8_t*>(request.data()),
                                     request.size(), &out, &out_len, &error);
  }
  if (code == BERTH_STATUS_OK && out_len > 0 && out != nullptr) {
    response->assign(reinterpret_cast<const char*>(out), out_len);
  } else {
    response->clear();
  }
  library_->vtable().free_buffer(out);
  if (code != BERTH_STATUS_OK) return PluginError(key_ + " " + method_z, code, error);
  library_->vtable().free_buffer(error);
  return OkStatus();
}

Result<std::string> PluginHandle::InvokeRaw(std::string_view method,
                                            std::string_view request) const {
  std::string response;
  BERTH_RETURN_IF_ERROR(CallInvoke(method, request, &response));
  return response;
}

Status PluginHandle::Invoke(std::string_view method, const google::protobuf::MessageLite& req,
                            google::protobuf::MessageLite* resp) const {
  std::string request;
  if (!req.SerializeToString(&request)) {
    return InvalidArgument(key_ + " " + std::string(method) + ": cannot serialize " +
                           req.GetTypeName() + " (missing required fields?)");
  }
  std::string response;
  BERTH_RETURN_IF_ERROR(CallInvoke(method, request, &response));
  if (resp == nullptr) return OkStatus();
  if (response.size() > static_cast<size_t>(INT_MAX) ||
      !resp->ParseFromArray(response.data(), static_cast<int>(response.size()))) {
    return Internal(key_ + " " + std::string(method) + ": response is not a valid " +
                    resp->GetTypeName());
  }
  return OkStatus();
}

void PluginHandle::HostLog(void* ctx, int level, const char* msg, size_t len) noexcept {
  try {
    auto* self = static_cast<const PluginHandle*>(ctx);
    self->logger_.Log(LevelFromPlugin(level), std::string_view(msg ? msg : "", msg ? len : 0));
  } catch (...) {
    // Nothing may cross back into plugin code; a lost log line is the lesser evil.
  }
}

int PluginHandle::HostPublishEvent(void* ctx, const char* topic, const uint8_t* data,
                                   size_t len) noexcept {
  try {
    auto* self = static_cast<const PluginHandle*>(ctx);
    if (topic == nullptr || *topic == '\0') return BERTH_STATUS_INVALID_ARGUMENT;
    if (self->events_ == nullptr) return BERTH_STATUS_OK;
    Status s = self->events_->Publish(
        self->key_, topic, std::string_view(reinterpret_cast<const char*>(data), data ? len : 0));
    if (!s.ok()) {
      self->logger_.Warn("event not delivered", {{"topic", topic}, {"error", s.message()}});
    }
    return static_cast<int>(s.code());
  } catch (...) {
    return BERTH_STATUS_INTERNAL;
  }
}

}  // namespace berth
