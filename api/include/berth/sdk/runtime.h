#pragma once
// berth::sdk::RuntimePlugin: base class of io.berth.runtime.v1 plugins. Override the methods
// you support; the others answer UNIMPLEMENTED. Messages and method semantics are in
// berth/plugin/v1/runtime.proto. Methods may be called concurrently (see PluginBase).
// Report exits by publishing a TaskExitEvent on "/tasks/exit" through host().

#include <string>
#include <string_view>

#include "berth/plugin/v1/runtime.pb.h"
#include "berth/sdk/plugin_base.h"

namespace berth::sdk {

class RuntimePlugin : public PluginBase {
 public:
  static constexpr const char* kPluginType = BERTH_PLUGIN_TYPE_RUNTIME;
  static constexpr const char* kTaskExitTopic = "/tasks/exit";  // TaskExitEvent
  static constexpr const char* kTaskOOMTopic = "/tasks/oom";    // TaskOOMEvent

  virtual Status Create(const plugin::v1::CreateTaskRequest&, plugin::v1::CreateTaskResponse*) {
    return internal::NotImplemented("Create");
  }
  virtual Status Start(const plugin::v1::StartTaskRequest&, plugin::v1::StartTaskResponse*) {
    return internal::NotImplemented("Start");
  }
  virtual Status Kill(const plugin::v1::KillTaskRequest&, plugin::v1::KillTaskResponse*) {
    return internal::NotImplemented("Kill");
  }
  virtual Status Delete(const plugin::v1::DeleteTaskRequest&, plugin::v1::DeleteTaskResponse*) {
    return internal::NotImplemented("Delete");
  }
  virtual Status State(const plugin::v1::TaskStateRequest&, plugin::v1::TaskStateResponse*) {
    return internal::NotImplemented("State");
  }
  virtual Status Exec(const plugin::v1::ExecProcessRequest&, plugin::v1::ExecProcessResponse*) {
    return internal::NotImplemented("Exec");
  }
  virtual Status Stats(const plugin::v1::TaskStatsRequest&, plugin::v1::TaskStatsResponse*) {
    return internal::NotImplemented("Stats");
  }
  virtual Status Update(const plugin::v1::UpdateTaskRequest&, plugin::v1::UpdateTaskResponse*) {
    return internal::NotImplemented("Update");
  }
  virtual Status Connect(const plugin::v1::ConnectTaskRequest&, plugin::v1::ConnectTaskResponse*) {
    return internal::NotImplemented("Connect");
  }

  virtual Status ResizePty(const plugin::v1::ResizePtyRequest&, plugin::v1::ResizePtyResponse*) {
    return internal::NotImplemented("ResizePty");
  }
  virtual Status CloseIO(const plugin::v1::CloseIORequest&, plugin::v1::CloseIOResponse*) {
    return internal::NotImplemented("CloseIO");
  }
  virtual Status Attach(const plugin::v1::AttachTaskRequest&, plugin::v1::AttachTaskResponse*) {
    return internal::NotImplemented("Attach");
  }
  virtual Status ReopenLog(const plugin::v1::ReopenLogRequest&, plugin::v1::ReopenLogResponse*) {
    return internal::NotImplemented("ReopenLog");
  }

  Status Dispatch(std::string_view method, std::string_view request, std::string* response) final {
    using namespace ::berth::plugin::v1;  // NOLINT(google-build-using-namespace): route table
    BERTH_SDK_ROUTE(Create, CreateTaskRequest, CreateTaskResponse)
    BERTH_SDK_ROUTE(Start, StartTaskRequest, StartTaskResponse)
    BERTH_SDK_ROUTE(Kill, KillTaskRequest, KillTaskResponse)
    BERTH_SDK_ROUTE(Delete, DeleteTaskRequest, DeleteTaskResponse)
    BERTH_SDK_ROUTE(State, TaskStateRequest, TaskStateResponse)
    BERTH_SDK_ROUTE(Exec, ExecProcessRequest, ExecProcessResponse)
    BERTH_SDK_ROUTE(Stats, TaskStatsRequest, TaskStatsResponse)
    BERTH_SDK_ROUTE(Update, UpdateTaskRequest, UpdateTaskResponse)
    BERTH_SDK_ROUTE(Connect, ConnectTaskRequest, ConnectTaskResponse)
    BERTH_SDK_ROUTE(ResizePty, ResizePtyRequest, ResizePtyResponse)
    BERTH_SDK_ROUTE(CloseIO, CloseIORequest, CloseIOResponse)
    BERTH_SDK_ROUTE(Attach, AttachTaskRequest, AttachTaskResponse)
    BERTH_SDK_ROUTE(ReopenLog, ReopenLogRequest, ReopenLogResponse)
    return internal::UnknownMethod(kPluginType, method);
  }
};

}  // namespace berth::sdk
