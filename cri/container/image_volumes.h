#pragma once
// CRI image volumes (KEP-4639): a container Mount whose `image` is set (instead of host_path)
// shows that image's filesystem read-only at container_path; `image_sub_path` picks a directory
// inside the image instead of its root. The kubelet pulls the image first and sends its id.
//
// What is created where, per image mount (n = its index in ContainerConfig.mounts):
//   - a read-only view snapshot of the image's top chain id in the container's snapshotter, key
//     ImageVolumeSnapshotKey(container id, n) = "ctr-<id>-imgvol-<n>". The view is a child of the
//     image's chain, so image GC keeps the image's layers while the container exists, even if
//     the image record is removed (as the container's own rootfs snapshot does);
//   - the view mounted read-only at <bundle>/image-volumes/<n>;
//   - with image_sub_path: that directory, resolved inside the image (never outside, see
//     ResolveImageSubPath), bind-mounted read-only at <bundle>/image-volumes/<n>-sub, so the
//     runtime binds a path that holds no symlink of the image.
// The returned host directory is bound "rbind, rprivate, ro" at container_path by spec_builder
// (SpecInputs::image_volume_sources). Always read-only whatever Mount.readonly says (the proto:
// image mounts are read-only by definition); exec is allowed (no noexec: binaries and plugins
// are a use case of the KEP).
//
// Who removes it: TearDownImageVolumes, from ContainerManager's Rollback (a failed Create, and
// Recover rolling back a create interrupted by a crash) and from RemoveContainer. It derives
// everything from the container id, the bundle and the persisted config (the record is written
// before anything here is made), so it works after a crash at any point, and it is idempotent:
// lazy-unmounts whatever is mounted under <bundle>/image-volumes, removes each derived snapshot
// key (NOT_FOUND is fine), then the directory. SetUpImageVolumes undoes its own partial work on
// error, too.
//
// Errors carry the "ImageVolumeMountFailed: " prefix that containerd and CRI-O use (the kubelet's
// crierrors.ErrImageVolumeMountFailed). Codes: NOT_FOUND when the image is not pulled or the sub
// path does not exist in it; INVALID_ARGUMENT for host_path together with image, an absolute sub
// path, a ".." component, a symlink that leads out of the image, or a sub path that is not a
// directory; FAILED_PRECONDITION when the image is not unpacked for the snapshotter.
// Threads: free functions, callable concurrently for different containers.

#include <map>
#include <string>
#include <vector>

#include "api/cri.h"
#include "common/log.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "cri/image/image_manager.h"
#include "cri/image/snapshotter_client.h"

namespace berth::container {

// The image a mount names: ImageSpec.image_ref (the resolved id) when set, else ImageSpec.image
// (the kubelet sends the id it pulled there). "" for a host-path mount.
const std::string& ImageVolumeRef(const runtime::v1::Mount& m);

// "ctr-<container id>-imgvol-<mount index>".
std::string ImageVolumeSnapshotKey(const std::string& container_id, int mount_index);

// Checks one CRI mount's image-volume fields without touching anything (ValidateContainerConfig
// calls it for every mount): host_path with image, image_sub_path without image, absolute sub
// path or one with a ".." component → INVALID_ARGUMENT.
Status ValidateImageVolumeMount(const runtime::v1::Mount& m);

// The image of one image mount, resolved before anything is created.
struct ImageVolumeSource {
  int mount_index = 0;
  std::string image_id;   // "sha256:…"
  std::string chain_top;  // the committed snapshot the view is made of
};

// Resolves every image mount of `config` against the local images (no side effects). NOT_FOUND
// when one is not pulled, FAILED_PRECONDITION when not unpacked for the images' snapshotter.
Result<std::vector<ImageVolumeSource>> ResolveImageVolumes(
    const runtime::v1::ContainerConfig& config, const image::ImageManager& images);

// Makes the views and mounts of `sources` (see above). Returns mount index → host directory for
// SpecInputs::image_volume_sources. On error nothing of it is left.
Result<std::map<int, std::string>> SetUpImageVolumes(const std::vector<ImageVolumeSource>& sources,
                                                     const runtime::v1::ContainerConfig& config,
                                                     image::SnapshotterClient& snap,
                                                     const std::string& container_id,
                                                     const std::string& bundle);

// Undoes SetUpImageVolumes for a container (see above). `snap` may be null when the snapshotter
// is not loaded: then only the mounts and the directory go and the views stay, as the
// container's rootfs snapshot does (a missing plugin must not make a container unremovable).
Status TearDownImageVolumes(const runtime::v1::ContainerConfig& config,
                            image::SnapshotterClient* snap, const std::string& container_id,
                            const std::string& bundle);

// Resolves `sub_path` (relative, validated) below the directory `root_fd` like a path inside a
// chroot would, except that leaving the root is refused instead of clamped: relative symlinks
// are followed while they stay below the root, an absolute symlink or a ".." above the root is
// INVALID_ARGUMENT ("escapes the image"), as Go's os.Root (containerd) does. Every step is an
// openat(O_PATH | O_NOFOLLOW) relative to an already opened directory, ".." pops a stack of
// those fds (the kernel's ".." is never used), at most 40 symlinks. The result must be a
// directory. Returns an O_PATH | O_CLOEXEC fd. NOT_FOUND for a missing component.
Result<UniqueFd> ResolveImageSubPath(int root_fd, const std::string& sub_path);

}  // namespace berth::container
