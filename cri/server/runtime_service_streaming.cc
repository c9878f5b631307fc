// The CRI streaming RPCs: Exec, Attach and PortForward validate the request (kubelet's
// streaming server rules plus containerd's state checks) and return a URL of berthd's
// streaming server (cri/streaming) holding the request under a single-use token. The client
// then connects there; the container/pod is checked again when the session starts.
#include "api/cri.h"
#include "cri/container/container_manager.h"
#include "cri/pod/pod_manager.h"
#include "cri/server/grpc_status.h"
#include "cri/server/runtime_service.h"
#include "cri/streaming/streaming_server.h"

namespace berth {
namespace cri = runtime::v1;

namespace {

grpc::Status Invalid(const std::string& m) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, m);
}

// The rules kubelet's streaming server applies to exec and attach requests.
grpc::Status ValidateStreams(bool in, bool out, bool err, bool tty) {
  if (tty && err) {
    return Invalid("tty and stderr cannot both be true (a terminal has one output stream)");
  }
  if (!in && !out && !err) return Invalid("one of stdin, stdout, or stderr must be set");
  return grpc::Status::OK;
}

// The full id of a running container (ids may be unique prefixes, as elsewhere in berth).
Result<std::string> RunningContainer(const ContainerManager& containers, const std::string& id) {
  auto status = containers.GetStatus(id, false);
  if (!status.ok()) return status.status();
  const cri::ContainerStatus& s = status->status();
  if (s.state() != cri::CONTAINER_RUNNING) {
    return FailedPrecondition("container " + s.id() + " is not running (state " +
                              cri::ContainerState_Name(s.state()) + ")");
  }
  return s.id();
}

// Exec and Attach after their own checks: the container must be running; the request is
// stored (with the full container id) under a token of the streaming server.
template <typename Request>
grpc::Status ContainerStreamUrl(
    const ContainerManager* containers, streaming::StreamingServer* streaming, Request req,
    Result<std::string> (streaming::StreamingServer::*get)(const Request&), std::string* url) {
  grpc::Status v = ValidateStreams(req.stdin(), req.stdout(), req.stderr(), req.tty());
  if (!v.ok()) return v;
  if (!containers || !streaming) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "berthd's streaming server is not running");
  }
  auto id = RunningContainer(*containers, req.container_id());
  if (!id.ok()) return ToGrpcStatus(id.status());
  req.set_container_id(*id);
  auto got = (streaming->*get)(req);
  if (!got.ok()) return ToGrpcStatus(got.status());
  *url = *got;
  return grpc::Status::OK;
}

}  // namespace

grpc::Status RuntimeService::Exec(grpc::ServerContext*, const cri::ExecRequest* req,
                                  cri::ExecResponse* resp) {
  if (req->container_id().empty()) return Invalid("container_id is required");
  if (req->cmd().empty()) return Invalid("cmd is required: the command to run in the container");
  return ContainerStreamUrl(containers_, streaming_, *req, &streaming::StreamingServer::GetExec,
                            resp->mutable_url());
}

grpc::Status RuntimeService::Attach(grpc::ServerContext*, const cri::AttachRequest* req,
                                    cri::AttachResponse* resp) {
  if (req->container_id().empty()) return Invalid("container_id is required");
  return ContainerStreamUrl(containers_, streaming_, *req, &streaming::StreamingServer::GetAttach,
                            resp->mutable_url());
}

grpc::Status RuntimeService::PortForward(grpc::ServerContext*, const cri::PortForwardRequest* req,
                                         cri::PortForwardResponse* resp) {
  if (req->pod_sandbox_id().empty()) return Invalid("pod_sandbox_id is required");
  for (int32_t port : req->port()) {
    if (port < 1 || port > 65535) {
      return Invalid("port " + std::to_string(port) + " is out of range (1-65535)");
    }
  }
  if (!pods_ || !streaming_) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "berthd's streaming server is not running");
  }
  auto pod = pods_->Get(req->pod_sandbox_id());
  if (!pod.ok()) return ToGrpcStatus(pod.status());
  if (pod->state != PodState::kReady) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "pod sandbox " + pod->id + " is not ready");
  }
  cri::PortForwardRequest stored = *req;
  stored.set_pod_sandbox_id(pod->id);
  auto url = streaming_->GetPortForward(stored);
  if (!url.ok()) return ToGrpcStatus(url.status());
  resp->set_url(*url);
  return grpc::Status::OK;
}

}  // namespace berth
