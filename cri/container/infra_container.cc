#include "cri/container/infra_container.h"

#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "berth/plugin_abi.h"
#include "common/fs.h"
#include "cri/container/image_users.h"
#include "cri/container/spec_builder.h"
#include "cri/container/user_resolver.h"
#include "plugins/runtime/shim_client/rootfs_mount.h"

namespace berth::container {
namespace {

namespace cri = runtime::v1;

std::string SnapshotKey(const PodView& pod) { return "infra-" + pod.id; }

// The infra container as a CRI container config, so that the one spec builder applies the pod's
// sandbox security context exactly as it does for the pod's containers.
cri::ContainerConfig InfraConfig(const PodView& pod, const std::string& image) {
  cri::ContainerConfig c;
  c.mutable_metadata()->set_name("POD");  // what kubelet and containerd call a pod's sandbox
  c.mutable_image()->set_image(image);
  const cri::LinuxSandboxSecurityContext& psc = pod.config.linux().security_context();
  cri::LinuxContainerSecurityContext* sc = c.mutable_linux()->mutable_security_context();
  // pid POD with no pid_ns_path in the view: a new PID namespace, the one the pod will share.
  *sc->mutable_namespace_options() = psc.namespace_options();
  if (psc.has_run_as_user()) *sc->mutable_run_as_user() = psc.run_as_user();
  if (psc.has_run_as_group()) *sc->mutable_run_as_group() = psc.run_as_group();
  sc->set_readonly_rootfs(psc.readonly_rootfs());
  *sc->mutable_supplemental_groups() = psc.supplemental_groups();
  sc->set_supplemental_groups_policy(psc.supplemental_groups_policy());
  if (psc.has_seccomp()) {
    *sc->mutable_seccomp() = psc.seccomp();
  } else {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"  // older kubelets send the string
    sc->set_seccomp_profile_path(psc.seccomp_profile_path());
#pragma GCC diagnostic pop
  }
  // A pause program needs no privilege at all, even in a privileged pod.
  sc->mutable_capabilities()->add_drop_capabilities("ALL");
  sc->set_no_new_privs(true);
  return c;
}

}  // namespace

InfraContainer::InfraContainer(InfraContainerOptions options, const PluginHost& plugins,
                               image::ImageManager& images, Logger logger)
    : options_(std::move(options)),
      plugins_(plugins),
      images_(images),
      logger_(std::move(logger)) {}

std::string InfraContainer::BundleDir(const PodView& pod) const {
  return options_.state + "/infra/" + pod.id;
}

Result<RuntimeClient> InfraContainer::Runtime(const PodView& pod) const {
  return RuntimeClient::Find(plugins_, pod.runtime_plugin);
}

Result<image::ImageRecord> InfraContainer::SandboxImage() {
  const std::string& ref = options_.sandbox_image;
  if (ref.empty()) {
    return FailedPrecondition(
        "no sandbox image is configured (config key \"sandbox_image\"); pods whose containers "
        "share a PID namespace need one");
  }
  Result<std::optional<image::ImageRecord>> found = images_.Resolve(ref);
  if (!found.ok()) return found.status().Wrap("sandbox image");
  if (*found) return **found;
  logger_.Info("pulling the sandbox image", {{"image", ref}});
  Result<image::ImageRecord> pulled = images_.Pull(ref, {});
  if (!pulled.ok()) {
    return pulled.status().Wrap("pull the sandbox image " + ref +
                                " (config key \"sandbox_image\"; pods whose containers share a "
                                "PID namespace run it)");
  }
  return pulled;
}

Result<InfraProcess> InfraContainer::Start(const PodView& pod) {
  Result<InfraProcess> p = CreateAndStart(pod);
  if (!p.ok()) {
    if (Status r = Remove(pod); !r.ok()) {
      logger_.Warn("cannot undo a failed infra container start",
                   {{"pod", pod.id}, {"error", r.message()}});
    }
  }
  return p;
}

Result<InfraProcess> InfraContainer::CreateAndStart(const PodView& pod) {
  Result<image::ImageRecord> image = SandboxImage();
  if (!image.ok()) return image.status();
  Result<std::string> parent = images_.RootfsParent(*image);
  if (!parent.ok()) return parent.status().Wrap("sandbox image");
  Result<image::SnapshotterClient> snap = images_.Snapshotter();
  if (!snap.ok()) return snap.status();
  Result<RuntimeClient> rt = Runtime(pod);
  if (!rt.ok()) return rt.status();

  cri::ContainerConfig config = InfraConfig(pod, options_.sandbox_image);
  PodView view = pod;
  view.pid_ns_path.clear();
  BERTH_RETURN_IF_ERROR(ValidateContainerConfig(config, view).Wrap("pod security context"));
  const std::string bundle = BundleDir(pod);
  BERTH_RETURN_IF_ERROR(MakeDirs(bundle, 0700).Wrap("infra bundle directory"));
  Result<std::vector<plugin::v1::Mount>> mounts = snap->Prepare(SnapshotKey(pod), *parent);
  if (!mounts.ok()) return mounts.status().Wrap("prepare the infra container's rootfs");
  Result<ImageUserFiles> files = ReadImageUserFiles(*mounts, bundle + "/peek");
  if (!files.ok()) return files.status();
  Result<ResolvedUser> user = ResolveUser(config.linux().security_context(), image->config.user,
                                          files->passwd, files->group);
  if (!user.ok()) return user.status().Wrap("sandbox image user");

  SpecInputs in;
  in.container_id = pod.id;
  in.config = &config;
  in.pod = &view;
  in.image = &image->config;
  in.user = *user;
  Result<BuiltSpec> spec = BuildSpec(in);
  if (!spec.ok()) return spec.status().Wrap("infra container spec");
  for (const std::string& w : spec->warnings) logger_.Warn(w, {{"pod", pod.id}});
  BERTH_RETURN_IF_ERROR(
      AtomicWriteFile(bundle + "/config.json", spec->spec.dump(), 0600).Wrap("infra bundle"));

  plugin::v1::CreateTaskRequest req;
  req.set_id(pod.id);
  req.set_bundle(bundle);
  for (const auto& m : *mounts) *req.add_rootfs() = m;
  (*req.mutable_annotations())["io.kubernetes.cri.sandbox-id"] = pod.id;
  Result<plugin::v1::CreateTaskResponse> created = rt->Create(req);
  if (!created.ok()) return created.status().Wrap("create the infra container");
  Result<uint32_t> pid = rt->Start(pod.id);
  if (!pid.ok()) return pid.status().Wrap("start the infra container");
  InfraProcess p{static_cast<pid_t>(*pid), ProcessStartTime(static_cast<pid_t>(*pid))};
  if (!InfraAlive(p)) {
    return Internal("the infra container of pod " + pod.id + " (sandbox image " +
                    options_.sandbox_image + ") exited at once");
  }
  logger_.Info("infra container started",
               {{"pod", pod.id}, {"pid", static_cast<int>(p.pid)}, {"image", image->id}});
  return p;
}

Status InfraContainer::Stop(const PodView& pod) {
  Result<RuntimeClient> rt = Runtime(pod);
  if (!rt.ok()) return rt.status();
  Status k = rt->Kill(pod.id, SIGKILL, true);
  if (k.code() == StatusCode::kNotFound) {
    // Not known to the runtime since a restart of berthd: reconnect, or there is no task.
    if (!rt->Connect(pod.id).ok()) return OkStatus();
    k = rt->Kill(pod.id, SIGKILL, true);
  }
  // A kill can fail only because the task is already stopped: its state says.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    Result<plugin::v1::TaskStateResponse> st = rt->State(pod.id);
    if (!st.ok()) {
      if (st.status().code() == StatusCode::kNotFound) return OkStatus();
      return st.status().Wrap("stop the infra container of pod " + pod.id);
    }
    if (st->status() == plugin::v1::TASK_STATUS_STOPPED) break;
    if (std::chrono::steady_clock::now() > deadline) {
      return Status(StatusCode::kDeadlineExceeded,
                    "the infra container of pod " + pod.id + " did not stop after SIGKILL" +
                        (k.ok() ? "" : " (kill: " + k.message() + ")"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  // Deleting the stopped task ends its shim: a stopped pod holds no process.
  Result<plugin::v1::DeleteTaskResponse> d = rt->Delete(pod.id);
  if (!d.ok() && d.status().code() != StatusCode::kNotFound) {
    return d.status().Wrap("delete the infra container of pod " + pod.id);
  }
  return OkStatus();
}

Status InfraContainer::Remove(const PodView& pod) {
  const std::string bundle = BundleDir(pod);
  Result<RuntimeClient> rt = Runtime(pod);
  // Start makes the bundle before anything else: without it there is nothing to remove, even
  // when the runtime plugin is not loaded (a pod whose infra start failed for that reason).
  if (!rt.ok() && ::access(bundle.c_str(), F_OK) != 0 && errno == ENOENT) return OkStatus();
  // A task created just before a crash is known to the runtime only after a reconnect.
  if (rt.ok()) (void)rt->Connect(pod.id);
  BERTH_RETURN_IF_ERROR(Stop(pod));
  // The runtime mounts <bundle>/rootfs before it starts a shim: a crash in between leaves the
  // mount with no task. Unmount before the snapshot goes, and never delete the bundle while
  // something is still mounted in it (that would delete the image's files).
  BERTH_RETURN_IF_ERROR(runtime_shim::UnmountRootfs(bundle + "/rootfs"));
  BERTH_RETURN_IF_ERROR(runtime_shim::UnmountRootfs(bundle + "/peek"));
  if (PluginHandle* h = plugins_.Find(BERTH_PLUGIN_TYPE_SNAPSHOTTER, images_.snapshotter())) {
    Status s = image::SnapshotterClient(h, images_.snapshotter()).Remove(SnapshotKey(pod));
    if (!s.ok() && s.code() != StatusCode::kNotFound) {
      return s.Wrap("remove the infra container's rootfs snapshot");
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(bundle, ec);
  if (ec) return ErrnoStatus(ec.value(), "remove " + bundle);
  return OkStatus();
}

bool InfraContainer::Reconnect(const PodView& pod) {
  Result<RuntimeClient> rt = Runtime(pod);
  if (!rt.ok()) return false;
  Result<plugin::v1::ConnectTaskResponse> c = rt->Connect(pod.id);
  return c.ok() && c->status() == plugin::v1::TASK_STATUS_RUNNING;
}

}  // namespace berth::container
