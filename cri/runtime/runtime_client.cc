#include "cri/runtime/runtime_client.h"

#include "berth/plugin_abi.h"

namespace berth {

Result<RuntimeClient> RuntimeClient::Find(const PluginHost& host, const std::string& plugin) {
  const PluginHandle* h = host.Find(BERTH_PLUGIN_TYPE_RUNTIME, plugin);
  if (h == nullptr) {
    return FailedPrecondition("runtime plugin \"" + plugin +
                              "\" is not loaded (see berthctl plugins)");
  }
  return RuntimeClient(h);
}

namespace pv1 = ::berth::plugin::v1;

Result<pv1::CreateTaskResponse> RuntimeClient::Create(const pv1::CreateTaskRequest& req) const {
  pv1::CreateTaskResponse resp;
  BERTH_RETURN_IF_ERROR(handle_->Invoke("Create", req, &resp));
  return resp;
}

Result<uint32_t> RuntimeClient::Start(const std::string& id, const std::string& exec_id) const {
  pv1::StartTaskRequest req;
  req.set_id(id);
  req.set_exec_id(exec_id);
  pv1::StartTaskResponse resp;
  BERTH_RETURN_IF_ERROR(handle_->Invoke("Start", req, &resp));
  return resp.pid();
}

Status RuntimeClient::Kill(const std::string& id, uint32_t signal, bool all,
                           const std::string& exec_id) const {
  pv1::KillTaskRequest req;
  req.set_id(id);
  req.set_exec_id(exec_id);
  req.set_signal(signal);
  req.set_all(all);
  pv1::KillTaskResponse resp;
  return handle_->Invoke("Kill", req, &resp);
}

Result<pv1::DeleteTaskResponse> RuntimeClient::Delete(const std::string& id,
                                                      const std::string& exec_id) const {
  pv1::DeleteTaskRequest req;
  req.set_id(id);
  req.set_exec_id(exec_id);
  pv1::DeleteTaskResponse resp;
  BERTH_RETURN_IF_ERROR(handle_->Invoke("Delete", req, &resp));
  return resp;
}

Result<pv1::TaskStateResponse> RuntimeClient::State(const std::string& id,
                                                    const std::string& exec_id) const {
  pv1::TaskStateRequest req;
  req.set_id(id);
  req.set_exec_id(exec_id);
  pv1::TaskStateResponse resp;
  BERTH_RETURN_IF_ERROR(handle_->Invoke("State", req, &resp));
  return resp;
}

Result<pv1::ExecProcessResponse> RuntimeClient::Exec(const pv1::ExecProcessRequest& req) const {
  pv1::ExecProcessResponse resp;
  BERTH_RETURN_IF_ERROR(handle_->Invoke("Exec", req, &resp));
  return resp;
}

Result<pv1::TaskStatsResponse> RuntimeClient::Stats(const std::string& id) const {
  pv1::TaskStatsRequest req;
  req.set_id(id);
  pv1::TaskStatsResponse resp;
  BERTH_RETURN_IF_ERROR(handle_->Invoke("Stats", req, &resp));
  return resp;
}

Status RuntimeClient::Update(const pv1::UpdateTaskRequest& req) const {
  pv1::UpdateTaskResponse resp;
  return handle_->Invoke("Update", req, &resp);
}

Result<pv1::ConnectTaskResponse> RuntimeClient::Connect(const std::string& id) const {
  pv1::ConnectTaskRequest req;
  req.set_id(id);
  pv1::ConnectTaskResponse resp;
  BERTH_RETURN_IF_ERROR(handle_->Invoke("Connect", req, &resp));
  return resp;
}

Status RuntimeClient::ResizePty(const std::string& id, const std::string& exec_id, uint32_t width,
                                uint32_t height) const {
  pv1::ResizePtyRequest req;
  req.set_id(id);
  req.set_exec_id(exec_id);
  req.set_width(width);
  req.set_height(height);
  pv1::ResizePtyResponse resp;
  return handle_->Invoke("ResizePty", req, &resp);
}

Status RuntimeClient::CloseIO(const std::string& id, const std::string& exec_id) const {
  pv1::CloseIORequest req;
  req.set_id(id);
  req.set_exec_id(exec_id);
  pv1::CloseIOResponse resp;
  return handle_->Invoke("CloseIO", req, &resp);
}

Status RuntimeClient::Attach(const std::string& id, const std::string& exec_id,
                             const pv1::TaskIO& io) const {
  pv1::AttachTaskRequest req;
  req.set_id(id);
  req.set_exec_id(exec_id);
  *req.mutable_io() = io;
  pv1::AttachTaskResponse resp;
  return handle_->Invoke("Attach", req, &resp);
}

Status RuntimeClient::ReopenLog(const std::string& id) const {
  pv1::ReopenLogRequest req;
  req.set_id(id);
  pv1::ReopenLogResponse resp;
  return handle_->Invoke("ReopenLog", req, &resp);
}

}  // namespace berth
