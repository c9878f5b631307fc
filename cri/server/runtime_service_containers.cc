// The CRI container RPCs: thin adapters over cri/container's ContainerManager (the list
// streams share List/ListStats with their unary RPCs, see list_stream.h).
#include <memory>

#include "cri/container/container_manager.h"
#include "cri/pod/pod_manager.h"
#include "cri/server/grpc_status.h"
#include "cri/server/runtime_service.h"

namespace berth {
namespace cri = runtime::v1;

namespace {

grpc::Status NotReady() {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE, "berthd's container manager is not ready");
}

}  // namespace

grpc::Status RuntimeService::CreateContainer(grpc::ServerContext*,
                                             const cri::CreateContainerRequest* req,
                                             cri::CreateContainerResponse* resp) {
  if (!containers_) return NotReady();
  Result<std::string> id = containers_->Create(req->pod_sandbox_id(), req->config());
  if (!id.ok()) return ToGrpcStatus(id.status());
  resp->set_container_id(*id);
  return grpc::Status::OK;
}

grpc::Status RuntimeService::StartContainer(grpc::ServerContext*,
                                            const cri::StartContainerRequest* req,
                                            cri::StartContainerResponse*) {
  if (!containers_) return NotReady();
  return ToGrpcStatus(containers_->Start(req->container_id()));
}

grpc::Status RuntimeService::StopContainer(grpc::ServerContext*,
                                           const cri::StopContainerRequest* req,
                                           cri::StopContainerResponse*) {
  if (!containers_) return NotReady();
  return ToGrpcStatus(containers_->Stop(req->container_id(), req->timeout()));
}

grpc::Status RuntimeService::RemoveContainer(grpc::ServerContext*,
                                             const cri::RemoveContainerRequest* req,
                                             cri::RemoveContainerResponse*) {
  if (!containers_) return NotReady();
  if (req->container_id().empty())
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "container_id is required");
  return ToGrpcStatus(containers_->Remove(req->container_id()));
}

grpc::Status RuntimeService::ListContainers(grpc::ServerContext*,
                                            const cri::ListContainersRequest* req,
                                            cri::ListContainersResponse* resp) {
  if (!containers_) return NotReady();
  for (auto& c : containers_->List(req->filter())) *resp->add_containers() = std::move(c);
  return grpc::Status::OK;
}

grpc::Status RuntimeService::StreamContainers(
    grpc::ServerContext* ctx, const cri::StreamContainersRequest* req,
    grpc::ServerWriter<cri::StreamContainersResponse>* writer) {
  ListStreams::Guard open = list_streams_.Enter(ctx);
  if (!open.ok()) return ListStreamShuttingDown();
  if (!containers_) return NotReady();
  return SendInBatches(ctx, writer, containers_->List(req->filter()),
                       &cri::StreamContainersResponse::mutable_containers);
}

grpc::Status RuntimeService::ContainerStatus(grpc::ServerContext*,
                                             const cri::ContainerStatusRequest* req,
                                             cri::ContainerStatusResponse* resp) {
  if (!containers_) return NotReady();
  auto r = containers_->GetStatus(req->container_id(), req->verbose());
  if (!r.ok()) return ToGrpcStatus(r.status());
  *resp = std::move(*r);
  return grpc::Status::OK;
}

grpc::Status RuntimeService::UpdateContainerResources(
    grpc::ServerContext*, const cri::UpdateContainerResourcesRequest* req,
    cri::UpdateContainerResourcesResponse*) {
  if (!containers_) return NotReady();
  return ToGrpcStatus(containers_->UpdateResources(req->container_id(), req->linux()));
}

grpc::Status RuntimeService::ReopenContainerLog(grpc::ServerContext*,
                                                const cri::ReopenContainerLogRequest* req,
                                                cri::ReopenContainerLogResponse*) {
  if (!containers_) return NotReady();
  return ToGrpcStatus(containers_->ReopenLog(req->container_id()));
}

grpc::Status RuntimeService::ExecSync(grpc::ServerContext*, const cri::ExecSyncRequest* req,
                                      cri::ExecSyncResponse* resp) {
  if (!containers_) return NotReady();
  auto r = containers_->ExecSync(req->container_id(),
                                 std::vector<std::string>(req->cmd().begin(), req->cmd().end()),
                                 req->timeout());
  if (!r.ok()) return ToGrpcStatus(r.status());
  *resp = std::move(*r);
  return grpc::Status::OK;
}

grpc::Status RuntimeService::ContainerStats(grpc::ServerContext*,
                                            const cri::ContainerStatsRequest* req,
                                            cri::ContainerStatsResponse* resp) {
  if (!containers_) return NotReady();
  auto r = containers_->Stats(req->container_id());
  if (!r.ok()) return ToGrpcStatus(r.status());
  *resp->mutable_stats() = std::move(*r);
  return grpc::Status::OK;
}

grpc::Status RuntimeService::ListContainerStats(grpc::ServerContext*,
                                                const cri::ListContainerStatsRequest* req,
                                                cri::ListContainerStatsResponse* resp) {
  if (!containers_) return NotReady();
  for (auto& s : containers_->ListStats(req->filter())) *resp->add_stats() = std::move(s);
  return grpc::Status::OK;
}

grpc::Status RuntimeService::StreamContainerStats(
    grpc::ServerContext* ctx, const cri::StreamContainerStatsRequest* req,
    grpc::ServerWriter<cri::StreamContainerStatsResponse>* writer) {
  ListStreams::Guard open = list_streams_.Enter(ctx);
  if (!open.ok()) return ListStreamShuttingDown();
  if (!containers_) return NotReady();
  return SendInBatches(ctx, writer, containers_->ListStats(req->filter()),
                       &cri::StreamContainerStatsResponse::mutable_container_stats);
}

grpc::Status RuntimeService::CheckpointContainer(grpc::ServerContext*,
                                                 const cri::CheckpointContainerRequest*,
                                                 cri::CheckpointContainerResponse*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                      "CheckpointContainer is not implemented by berth yet (container "
                      "checkpoint/restore needs CRIU support in the runtime)");
}

grpc::Status RuntimeService::GetContainerEvents(
    grpc::ServerContext* ctx, const cri::GetEventsRequest*,
    grpc::ServerWriter<cri::ContainerEventResponse>* writer) {
  if (!containers_) return NotReady();
  std::shared_ptr<ContainerManager::Subscription> sub = containers_->Subscribe();
  struct Unsub {
    ContainerManager* m;
    std::shared_ptr<ContainerManager::Subscription> s;
    ~Unsub() { m->Unsubscribe(s); }
  } unsub{containers_, sub};
  while (!ctx->IsCancelled()) {
    container::ContainerEvent ev;
    if (!sub->Next(&ev, 500)) {
      // Closed by the daemon's shutdown: end the stream now (the kubelet reconnects or falls
      // back to relisting) rather than when gRPC cancels it after the grace period.
      if (sub->Closed())
        return grpc::Status(grpc::StatusCode::UNAVAILABLE, "berthd is shutting down");
      continue;
    }
    cri::ContainerEventResponse out;
    out.set_container_id(ev.container_id);
    out.set_container_event_type(ev.type);
    out.set_created_at(ev.created_at);
    auto* ps = out.mutable_pod_sandbox_status();
    ps->set_id(ev.pod_id);
    if (pods_) {
      if (Result<PodView> pod = pods_->Get(ev.pod_id); pod.ok()) {
        *ps->mutable_metadata() = pod->config.metadata();
        ps->set_state(pod->state == PodState::kReady ? cri::SANDBOX_READY : cri::SANDBOX_NOTREADY);
        ps->set_created_at(pod->created_at_unix_nano);
        ps->mutable_network()->set_ip(pod->ip);
        *ps->mutable_labels() = pod->config.labels();
        *ps->mutable_annotations() = pod->config.annotations();
        ps->set_runtime_handler(pod->runtime_handler);
      }
    }
    for (auto& s : containers_->PodStatuses(ev.pod_id))
      *out.add_containers_statuses() = std::move(s);
    if (!writer->Write(out)) break;
  }
  return grpc::Status::OK;
}

}  // namespace berth
