#pragma once
// CRI ContainerConfig + the pod (PodView) + the image config → an OCI runtime-spec config.json,
// following containerd's and CRI-O's rules (see BuildSpec below for each one).
//
// Pure apart from small reads that belong to the request: the Localhost seccomp profile file,
// stat(2) of requested devices, and the host's /dev for a privileged container. No state; callable
// from any thread. Errors: INVALID_ARGUMENT for a request that cannot be honoured (privileged
// container in an unprivileged pod, no command, unknown capability, unknown seccomp profile file,
// bad device, run_as_group without a user), naming the field.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/cri.h"
#include "common/status.h"
#include "cri/container/user_resolver.h"
#include "cri/image/store/image_record.h"
#include "cri/pod/pod_view.h"

namespace berth::container {

// The calling process's capability bounding set as a bit mask (bit N = capability N).
uint64_t CurrentBoundingSet();

struct SpecInputs {
  std::string container_id;
  const runtime::v1::ContainerConfig* config = nullptr;  // borrowed
  const PodView* pod = nullptr;                          // borrowed
  const image::ImageConfigInfo* image = nullptr;         // borrowed
  ResolvedUser user;              // from ResolveUser (the manager reads the image's files)
  std::string rootfs = "rootfs";  // root.path, relative to the bundle
  // For pid NamespaceMode TARGET: the target container's pid namespace file.
  std::string target_pid_ns_path;
  // The highest capability number the kernel knows (/proc/sys/kernel/cap_last_cap): "ALL" and
  // privileged mean every capability up to it.
  int cap_last_cap = 40;
  // Capabilities berthd itself holds (bit N = capability N; default: its bounding set). A
  // privileged container, or "ALL", gets these, not more: a runtime cannot hand out what it
  // lacks (capset would fail), as on hosts without CAP_SYS_RESOURCE.
  uint64_t available_caps = CurrentBoundingSet();
  // Where a privileged container's host devices are read from (host_devices.h).
  std::string host_dev_dir = "/dev";
  // Image volumes: index in config->mounts → the host directory SetUpImageVolumes made for it
  // (image_volumes.h), bound read-only at the mount's container_path. Every image mount needs one.
  std::map<int, std::string> image_volume_sources;
};

struct BuiltSpec {
  nlohmann::json spec;
  std::vector<std::string> warnings;  // things ignored (apparmor, selinux)
};

// Checks the request without touching anything (run first, before any resource is made).
Status ValidateContainerConfig(const runtime::v1::ContainerConfig& config, const PodView& pod);

Result<BuiltSpec> BuildSpec(const SpecInputs& in);

// The pieces, exposed for the manager and for tests.

// command set: command + args (the image's entrypoint and cmd are ignored); else the image's
// entrypoint + (args, or the image's cmd when args is empty). INVALID_ARGUMENT when empty.
Result<std::vector<std::string>> ContainerArgs(const runtime::v1::ContainerConfig& config,
                                               const image::ImageConfigInfo& image);
// A default PATH (when the image has none), HOSTNAME, the image's env, then the config's envs;
// a later KEY replaces an earlier one in place.
std::vector<std::string> ContainerEnv(const runtime::v1::ContainerConfig& config,
                                      const image::ImageConfigInfo& image,
                                      const std::string& hostname);
// containerd's default set with add/drop applied ("ALL" included, CAP_ prefix optional, any
// case). The result is sorted "CAP_…" names.
Result<std::vector<std::string>> ContainerCapabilities(const runtime::v1::Capability& caps,
                                                       int cap_last_cap,
                                                       uint64_t available = ~0ULL);
// Every capability name up to cap_last_cap that is in `available`.
std::vector<std::string> AllCapabilities(int cap_last_cap, uint64_t available = ~0ULL);
// The OCI linux.seccomp section for the request, or null for no filter.
// `bounding` unlocks syscalls in the RuntimeDefault profile (as Docker's does).
Result<nlohmann::json> SeccompSection(const runtime::v1::LinuxContainerSecurityContext& sc,
                                      const std::vector<std::string>& bounding);
// The CRI LinuxContainerResources as OCI linux.resources (without devices).
nlohmann::json OciResources(const runtime::v1::LinuxContainerResources& r);

extern const std::vector<std::string> kDefaultMaskedPaths;
extern const std::vector<std::string> kDefaultReadonlyPaths;
extern const std::vector<std::string> kDefaultCapabilities;

}  // namespace berth::container
