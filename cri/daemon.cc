#include "cri/daemon.h"

#include <unistd.h>

#include <chrono>
#include <thread>

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include "common/fs.h"
#include "cri/server/inflight_interceptor.h"
#include "cri/server/unimplemented_interceptor.h"
#include "cri/server/unix_socket.h"

namespace berth {

Result<std::unique_ptr<Daemon>> Daemon::Start(DaemonConfig config, Logger logger) {
  auto handlers = RuntimeHandlers::FromConfig(config);
  if (!handlers.ok()) return handlers.status();
  if (::geteuid() != 0) {
    return PermissionDenied("berthd must run as root (it creates namespaces, mounts and cgroups)");
  }
  BERTH_RETURN_IF_ERROR(MakeDirs(config.root, 0700).Wrap("root directory"));
  auto lock = InstanceLock::Acquire(config.root);
  if (!lock.ok()) return lock.status();
  BERTH_RETURN_IF_ERROR(MakeDirs(config.state, 0700).Wrap("state directory"));

  std::unique_ptr<Daemon> d(
      new Daemon(std::move(config), std::move(logger), std::move(*lock), std::move(*handlers)));
  d->plugins_.LoadAll(d->config_.plugin_dirs);
  BERTH_RETURN_IF_ERROR(d->StartImages());
  BERTH_RETURN_IF_ERROR(d->StartPods());
  BERTH_RETURN_IF_ERROR(d->StartContainers());
  // Exec/attach/port-forward sessions run on the containers and pods just started.
  PodManager* pods = d->pods_.get();
  d->container_streams_ = std::make_unique<ContainerStreams>(
      *d->containers_, [pods](const std::string& id) { return pods->Get(id); },
      d->logger_.With({{"component", "streams"}}));
  BERTH_RETURN_IF_ERROR(d->StartStreaming(*d->container_streams_));
  BERTH_RETURN_IF_ERROR(d->Serve());
  return d;
}

Daemon::Daemon(DaemonConfig config, Logger logger, InstanceLock lock, RuntimeHandlers handlers)
    : config_(std::move(config)),
      logger_(std::move(logger)),
      lock_(std::move(lock)),
      plugins_(logger_.With({{"component", "plugin_host"}}), config_.plugins, config_.root,
               config_.state),
      runtime_handlers_(std::move(handlers)),
      runtime_service_(config_, plugins_, runtime_handlers_),
      introspection_service_(plugins_) {}

Status Daemon::StartImages() {
  auto registry = image::registry::RegistryConfig::FromJson(
      config_.registry.empty() ? nlohmann::json{{"hosts", nlohmann::json::object()}}
                               : config_.registry,
      "config.registry");
  if (!registry.ok()) return registry.status();
  image::ImageManagerOptions o;
  o.root = config_.root;
  o.state = config_.state;
  o.snapshotter = config_.snapshotter;
  o.sandbox_image = config_.sandbox_image;
  o.registry = std::move(*registry);
  o.max_parallel_downloads = static_cast<int>(config_.max_concurrent_downloads);
  auto images =
      image::ImageManager::Open(std::move(o), plugins_, logger_.With({{"component", "images"}}));
  if (!images.ok()) return images.status().Wrap("image service");
  images_ = std::move(*images);
  image_service_ = std::make_unique<ImageService>(*images_);
  images_api_service_ = std::make_unique<ImagesApiService>(*images_);
  return OkStatus();
}

Status Daemon::StartPods() {
  PodManagerOptions o;
  o.root = config_.root;
  o.state = config_.state;
  o.network_plugin = config_.network_plugin;
  infra_ = std::make_unique<container::InfraContainer>(
      container::InfraContainerOptions{config_.state, config_.sandbox_image}, plugins_, *images_,
      logger_.With({{"component", "infra"}}));
  auto pods = PodManager::Open(std::move(o), plugins_, runtime_handlers_, infra_.get(),
                               logger_.With({{"component", "pods"}}));
  if (!pods.ok()) return pods.status().Wrap("pod manager");
  pods_ = std::move(*pods);
  // The container manager (StartContainers) attaches itself and calls pods_->SetContainers.
  runtime_service_.Attach(pods_.get(), nullptr);
  return OkStatus();
}

Status Daemon::StartContainers() {
  container::ContainerManagerOptions o;
  o.root = config_.root;
  o.state = config_.state;
  PodManager* pods = pods_.get();
  auto lookup = [pods](const std::string& id) -> Result<PodView> {
    if (!pods) return Unavailable("the pod manager is not running");
    return pods->Get(id);
  };
  auto forward = [pods](const plugin::v1::TaskExitEvent& ev) {
    if (pods) pods->OnTaskExit(ev);
  };
  auto containers =
      ContainerManager::Open(std::move(o), plugins_, *images_, std::move(lookup),
                             std::move(forward), logger_.With({{"component", "containers"}}));
  if (!containers.ok()) return containers.status().Wrap("container manager");
  containers_ = std::move(*containers);
  plugins_.SetEventSink(containers_->EventSink());
  containers_->Recover();
  if (pods_) pods_->SetContainers(containers_.get());
  runtime_service_.Attach(pods_.get(), containers_.get());
  return OkStatus();
}

Status Daemon::StartStreaming(streaming::StreamBackend& backend) {
  const StreamingConfig& c = config_.streaming;
  streaming::StreamingOptions o;
  o.address = c.address;
  o.port = static_cast<uint16_t>(c.port);
  o.tls_cert_file = c.tls_cert_file;
  o.tls_key_file = c.tls_key_file;
  o.idle_timeout = std::chrono::seconds(c.idle_timeout_s);
  o.token_ttl = std::chrono::seconds(c.token_ttl_s);
  auto server = streaming::StreamingServer::Start(std::move(o), backend,
                                                  logger_.With({{"component", "streaming"}}));
  if (!server.ok()) return server.status().Wrap("streaming server");
  streaming_ = std::move(*server);
  runtime_service_.AttachStreaming(streaming_.get());
  return OkStatus();
}

Status Daemon::Serve() {
  BERTH_RETURN_IF_ERROR(PrepareSocketPath(config_.socket));

  grpc::ServerBuilder builder;
  int bound_port = 0;
  builder.AddListeningPort("unix:" + config_.socket, grpc::InsecureServerCredentials(),
                           &bound_port);
  builder.RegisterService(&runtime_service_);
  builder.RegisterService(image_service_.get());
  builder.RegisterService(images_api_service_.get());
  builder.RegisterService(&introspection_service_);
  // Requests (image layers) can exceed gRPC's 4 MiB default: 16 MiB, as containerd takes. An
  // ExecSyncResponse may carry CRI's cap of 16 MiB on stdout AND on stderr: sending must fit
  // 2 x 16 MiB plus the message's few bytes of framing (1 MiB of headroom).
  builder.SetMaxReceiveMessageSize(16 * 1024 * 1024);
  builder.SetMaxSendMessageSize(33 * 1024 * 1024);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(MakeUnimplementedInterceptorFactory());
  interceptors.push_back(in_flight_.MakeFactory());
  builder.experimental().SetInterceptorCreators(std::move(interceptors));

  server_ = builder.BuildAndStart();
  if (!server_ || bound_port == 0) {
    server_.reset();
    return Unavailable("cannot listen on unix socket " + config_.socket);
  }
  socket_bound_ = true;
  // The socket's directory is 0700, so nobody could reach it in the moment before this.
  BERTH_RETURN_IF_ERROR(RestrictSocket(config_.socket));
  logger_.Info("serving CRI", {{"socket", config_.socket},
                               {"root", config_.root},
                               {"state", config_.state},
                               {"version", BERTH_VERSION}});
  return OkStatus();
}

void Daemon::Shutdown() {
  if (server_) {
    logger_.Info("shutting down");
    // Open GetContainerEvents streams never finish by themselves: end them first so the
    // shutdown below does not wait its whole grace period for them.
    if (containers_) containers_->CloseSubscriptions();
    // Likewise list streams (Stream*) whose client stopped reading (cri/server/list_stream.h).
    runtime_service_.CloseStreams();
    if (image_service_) image_service_->CloseStreams();
    // Calls still running get up to 5 s to finish; then (or at once, when none runs) the
    // rest are cancelled. gRPC's own Shutdown(deadline) would also wait that long for clients
    // that are merely connected, as kubelet always is.
    auto grace_end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (in_flight_.count() > 0 && std::chrono::steady_clock::now() < grace_end)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    server_->Shutdown(std::chrono::system_clock::now());
    server_->Wait();
    server_.reset();
  }
  if (socket_bound_) {
    ::unlink(config_.socket.c_str());
    socket_bound_ = false;
  }
  // No RPC hands out URLs any more; open sessions are cut (their processes killed).
  if (streaming_) {
    runtime_service_.AttachStreaming(nullptr);
    streaming_->Stop();
  }
  // No RPC runs any more: events and pod operations must not reach the container manager,
  // which dies before the plugins and the pod manager.
  plugins_.SetEventSink(nullptr);
  if (pods_) pods_->SetContainers(nullptr);
}

Daemon::~Daemon() { Shutdown(); }

}  // namespace berth
