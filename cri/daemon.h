#pragma once
// berthd as one object: the lock on its root, its plugins, and the gRPC server on its socket.
//
// Lifetime: Start() brings everything up in order and returns a running daemon, or an error
// with nothing left behind (no socket file, lock released). Shutdown() stops accepting RPCs,
// waits briefly for those in flight, and removes the socket; the destructor does the same if
// it was not called. Members are declared so that the server dies before the services it
// calls, and the services before the plugins they borrow.

#include <memory>

#include <grpcpp/server.h>

#include "common/log.h"
#include "common/status.h"
#include "cri/container/container_manager.h"
#include "cri/container/container_streams.h"
#include "cri/container/infra_container.h"
#include "cri/daemon_config.h"
#include "cri/image/image_manager.h"
#include "cri/instance_lock.h"
#include "cri/plugin_host/plugin_host.h"
#include "cri/pod/pod_manager.h"
#include "cri/runtime/runtime_handlers.h"
#include "cri/server/image_service.h"
#include "cri/server/images_api_service.h"
#include "cri/server/inflight_interceptor.h"
#include "cri/server/introspection_service.h"
#include "cri/server/runtime_service.h"
#include "cri/streaming/stream_backend.h"
#include "cri/streaming/streaming_server.h"

namespace berth {

class Daemon {
 public:
  static Result<std::unique_ptr<Daemon>> Start(DaemonConfig config, Logger logger);

  // Idempotent; safe to call from a thread other than the one that called Start().
  void Shutdown();
  ~Daemon();

 private:
  Daemon(DaemonConfig config, Logger logger, InstanceLock lock, RuntimeHandlers handlers);
  Status Serve();
  Status StartImages();
  Status StartPods();  // the pod manager (cri/pod), attached to runtime_service_
  // The container manager (cri/container): owns the plugin event sink (forwarding exits of
  // ids it does not know to the pod manager), recovers containers, attaches to
  // runtime_service_ and to the pod manager (PodContainers).
  Status StartContainers();
  // The exec/attach/port-forward server (config "streaming"), running sessions on `backend`
  // (borrowed: it must be declared before streaming_ so that it outlives the server), and
  // attached to runtime_service_ so that Exec/Attach/PortForward hand out its URLs.
  Status StartStreaming(streaming::StreamBackend& backend);

  DaemonConfig config_;
  Logger logger_;
  InstanceLock lock_;
  PluginHost plugins_;
  RuntimeHandlers runtime_handlers_;
  RuntimeService runtime_service_;
  std::unique_ptr<image::ImageManager> images_;  // after plugins_: borrows the snapshotters
  std::unique_ptr<ImageService> image_service_;
  std::unique_ptr<ImagesApiService> images_api_service_;
  // Pods' infra containers: borrows images_ and the runtime plugins; pods_ borrows it.
  std::unique_ptr<container::InfraContainer> infra_;
  std::unique_ptr<PodManager> pods_;  // after plugins_: borrows the network plugins
  // After pods_ (dies first: it looks pods up) and images_ (borrows the snapshotter).
  std::unique_ptr<ContainerManager> containers_;
  // Exec/attach/port-forward into containers_ and pods_ (dies before them).
  std::unique_ptr<ContainerStreams> container_streams_;
  // After containers_ and the stream backend it borrows (dies first: sessions use them).
  std::unique_ptr<streaming::StreamingServer> streaming_;
  IntrospectionService introspection_service_;
  InFlightCalls in_flight_;  // outlives server_ (declared before it)
  std::unique_ptr<grpc::Server> server_;
  bool socket_bound_ = false;
};

}  // namespace berth
