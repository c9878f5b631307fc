#pragma once
// InfraContainer: PodInfra (cri/pod/pod_infra.h) on berth's container machinery. A pod's infra
// container is the configured sandbox image (pulled when absent; the image manager lists it as
// pinned) run by the pod's runtime plugin, so the pod's runtime handler applies to it, with the
// pod's sandbox security context (run-as user/group, supplemental groups, seccomp, read-only
// rootfs), no capabilities and no_new_privs, in a new PID namespace and the pod's other
// namespaces, under the pod's cgroup.
//
// What it owns, all named after the pod id so that Remove works from the id alone: the runtime
// task "<pod id>", the rootfs snapshot "infra-<pod id>", the bundle <state>/infra/<pod id>.
//
// Thread-safety: the methods may run concurrently for different pods; the caller serialises
// calls for one pod. Borrows the PluginHost and ImageManager, which must outlive it.

#include <string>

#include "common/log.h"
#include "cri/image/image_manager.h"
#include "cri/plugin_host/plugin_host.h"
#include "cri/pod/pod_infra.h"
#include "cri/runtime/runtime_client.h"

namespace berth::container {

struct InfraContainerOptions {
  std::string state;          // berthd's state dir: bundles in <state>/infra
  std::string sandbox_image;  // the configured sandbox (pause) image reference
};

class InfraContainer final : public PodInfra {
 public:
  InfraContainer(InfraContainerOptions options, const PluginHost& plugins,
                 image::ImageManager& images, Logger logger);

  Result<InfraProcess> Start(const PodView& pod) override;
  Status Stop(const PodView& pod) override;
  Status Remove(const PodView& pod) override;
  bool Reconnect(const PodView& pod) override;

 private:
  Result<RuntimeClient> Runtime(const PodView& pod) const;
  // The sandbox image, pulled when it is not there yet.
  Result<image::ImageRecord> SandboxImage();
  Result<InfraProcess> CreateAndStart(const PodView& pod);
  std::string BundleDir(const PodView& pod) const;

  InfraContainerOptions options_;
  const PluginHost& plugins_;
  image::ImageManager& images_;
  Logger logger_;
};

}  // namespace berth::container
