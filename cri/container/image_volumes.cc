#include "cri/container/image_volumes.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <deque>

#include "common/fs.h"
#include "common/safe_path.h"
#include "plugins/runtime/shim_client/rootfs_mount.h"

namespace berth::container {

namespace cri = runtime::v1;

namespace {

// containerd and CRI-O prefix every image volume failure with the kubelet's
// crierrors.ErrImageVolumeMountFailed text; the kubelet reports it as the reason.
constexpr char kFailed[] = "ImageVolumeMountFailed: ";
constexpr int kMaxSymlinks = 40;  // as the kernel's path walk (MAXSYMLINKS)

std::string VolumesDir(const std::string& bundle) { return bundle + "/image-volumes"; }

Status Fail(const Status& s, const cri::Mount& m) {
  return s.Wrap(std::string(kFailed) + "image volume " + ImageVolumeRef(m) + " at " +
                m.container_path());
}

std::deque<std::string> Components(const std::string& path) {
  std::deque<std::string> out;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) out.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

bool IsImageMount(const cri::Mount& m) { return !ImageVolumeRef(m).empty(); }

// Binds the directory `fd` (O_PATH) read-only on `target` (created).
Status BindReadOnly(int fd, const std::string& target) {
  if (::mkdir(target.c_str(), 0700) != 0 && errno != EEXIST)
    return ErrnoStatus(errno, "mkdir " + target);
  std::string src = "/proc/self/fd/" + std::to_string(fd);
  if (::mount(src.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0)
    return ErrnoStatus(errno, "bind the sub path on " + target);
  if (::mount(nullptr, target.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) != 0) {
    int err = errno;
    (void)runtime_shim::UnmountRootfs(target);
    return ErrnoStatus(err, "remount " + target + " read-only");
  }
  return OkStatus();
}

}  // namespace

const std::string& ImageVolumeRef(const cri::Mount& m) {
  return m.image().image_ref().empty() ? m.image().image() : m.image().image_ref();
}

std::string ImageVolumeSnapshotKey(const std::string& container_id, int mount_index) {
  return "ctr-" + container_id + "-imgvol-" + std::to_string(mount_index);
}

Status ValidateImageVolumeMount(const cri::Mount& m) {
  const std::string& sub = m.image_sub_path();
  if (!IsImageMount(m)) {
    if (!sub.empty())
      return InvalidArgument("mount " + m.container_path() + ": image_sub_path \"" + sub +
                             "\" is only valid for an image volume (mount.image)");
    return OkStatus();
  }
  if (!m.host_path().empty()) {
    return InvalidArgument("mount " + m.container_path() + " sets both host_path \"" +
                           m.host_path() + "\" and image \"" + ImageVolumeRef(m) +
                           "\"; an image volume has no host_path");
  }
  if (!sub.empty() && sub[0] == '/') {
    return InvalidArgument("mount " + m.container_path() + ": image_sub_path \"" + sub +
                           "\" must be a path relative to the image's root");
  }
  for (const std::string& c : Components(sub)) {
    if (c == "..")
      return InvalidArgument("mount " + m.container_path() + ": image_sub_path \"" + sub +
                             "\" must not contain \"..\"");
  }
  return OkStatus();
}

Result<std::vector<ImageVolumeSource>> ResolveImageVolumes(const cri::ContainerConfig& config,
                                                           const image::ImageManager& images) {
  std::vector<ImageVolumeSource> out;
  for (int i = 0; i < config.mounts_size(); ++i) {
    const cri::Mount& m = config.mounts(i);
    if (!IsImageMount(m)) continue;
    BERTH_RETURN_IF_ERROR(ValidateImageVolumeMount(m));
    Result<std::optional<image::ImageRecord>> img = images.Resolve(ImageVolumeRef(m));
    if (!img.ok()) return Fail(img.status(), m);
    if (!*img) {
      return Fail(NotFound("image \"" + ImageVolumeRef(m) + "\" not found, pull it first"), m);
    }
    Result<std::string> parent = images.RootfsParent(**img);
    if (!parent.ok()) return Fail(parent.status(), m);
    out.push_back({i, (*img)->id, *parent});
  }
  return out;
}

Result<UniqueFd> ResolveImageSubPath(int root_fd, const std::string& sub_path) {
  auto escapes = [&](const std::string& why) {
    return InvalidArgument("image_sub_path \"" + sub_path + "\" escapes the image: " + why);
  };
  std::vector<UniqueFd> dirs;  // dirs[0] is the root; ".." pops
  int fd = ::openat(root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "open the image root");
  dirs.emplace_back(fd);
  std::deque<std::string> todo = Components(sub_path);
  std::string walked;  // for messages: the components taken so far
  int links = 0;
  while (!todo.empty()) {
    std::string c = std::move(todo.front());
    todo.pop_front();
    if (c == ".") continue;
    if (c == "..") {
      if (dirs.size() == 1) return escapes("\"..\" above the image root after \"" + walked + "\"");
      dirs.pop_back();
      walked += "/..";
      continue;
    }
    UniqueFd next(::openat(dirs.back().get(), c.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    std::string here = walked + "/" + c;
    if (!next) {
      if (errno == ENOENT)
        return NotFound("image_sub_path \"" + sub_path + "\" does not exist in the image (\"" +
                        here + "\" is missing)");
      return ErrnoStatus(errno, "image_sub_path \"" + sub_path + "\": open " + here);
    }
    struct stat st {};
    if (::fstat(next.get(), &st) != 0) return ErrnoStatus(errno, "stat " + here);
    if (S_ISLNK(st.st_mode)) {
      if (++links > kMaxSymlinks)
        return InvalidArgument("image_sub_path \"" + sub_path + "\": too many symlinks");
      char buf[4096];
      ssize_t n = ::readlinkat(next.get(), "", buf, sizeof(buf));
      if (n < 0) return ErrnoStatus(errno, "readlink " + here);
      if (n == 0 || static_cast<size_t>(n) == sizeof(buf))
        return InvalidArgument("image_sub_path \"" + sub_path + "\": bad symlink " + here);
      std::string target(buf, static_cast<size_t>(n));
      // An absolute link names a path of whatever root it is seen from: refused as containerd
      // does, rather than guessing that it means the image's root.
      if (target[0] == '/')
        return escapes("symlink " + here + " points to the absolute path \"" + target + "\"");
      std::deque<std::string> t = Components(target);
      todo.insert(todo.begin(), t.begin(), t.end());
      continue;
    }
    if (S_ISDIR(st.st_mode)) {
      dirs.push_back(std::move(next));
      walked = here;
      continue;
    }
    return InvalidArgument("image_sub_path \"" + sub_path + "\": " + here +
                           " is not a directory (only directories of an image can be mounted)");
  }
  return std::move(dirs.back());
}

Result<std::map<int, std::string>> SetUpImageVolumes(const std::vector<ImageVolumeSource>& sources,
                                                     const cri::ContainerConfig& config,
                                                     image::SnapshotterClient& snap,
                                                     const std::string& container_id,
                                                     const std::string& bundle) {
  std::map<int, std::string> out;
  if (sources.empty()) return out;
  auto undo = [&](const Status& s) -> Status {
    (void)TearDownImageVolumes(config, &snap, container_id, bundle);
    return s;
  };
  const std::string base = VolumesDir(bundle);
  if (Status s = MakeDirs(base, 0700); !s.ok())
    return s.Wrap(std::string(kFailed) + "image volume directory");
  for (const ImageVolumeSource& src : sources) {
    const cri::Mount& m = config.mounts(src.mount_index);
    Result<std::vector<plugin::v1::Mount>> mounts =
        snap.View(ImageVolumeSnapshotKey(container_id, src.mount_index), src.chain_top,
                  {{"io.berth.cri/container", container_id},
                   {"io.berth.cri/image-volume", m.container_path()}});
    if (!mounts.ok()) return undo(Fail(mounts.status().Wrap("view snapshot"), m));
    // A view is read-only by nature; "ro" makes it so for a bind of a single layer as well.
    google::protobuf::RepeatedPtrField<plugin::v1::Mount> ms(mounts->begin(), mounts->end());
    for (auto& x : ms) x.add_options("ro");
    const std::string dir = base + "/" + std::to_string(src.mount_index);
    if (Status s = runtime_shim::MountRootfs(ms, dir); !s.ok()) return undo(Fail(s, m));
    if (m.image_sub_path().empty()) {
      out[src.mount_index] = dir;
      continue;
    }
    Result<SafeRoot> root = SafeRoot::Open(dir);
    if (!root.ok()) return undo(Fail(root.status(), m));
    Result<UniqueFd> sub = ResolveImageSubPath(root->fd(), m.image_sub_path());
    if (!sub.ok()) return undo(Fail(sub.status(), m));
    const std::string sub_dir = dir + "-sub";
    if (Status s = BindReadOnly(sub->get(), sub_dir); !s.ok()) return undo(Fail(s, m));
    out[src.mount_index] = sub_dir;
  }
  return out;
}

Status TearDownImageVolumes(const cri::ContainerConfig& config, image::SnapshotterClient* snap,
                            const std::string& container_id, const std::string& bundle) {
  Status first;
  auto note = [&](const Status& s) {
    if (!s.ok() && first.ok()) first = s;
  };
  if (!bundle.empty()) {
    const std::string base = VolumesDir(bundle);
    std::vector<std::string> names;
    if (DIR* d = ::opendir(base.c_str())) {
      while (dirent* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") names.push_back(n);
      }
      ::closedir(d);
    }
    // rmdir, never a recursive removal: should an unmount fail, nothing of the image is touched.
    for (const std::string& n : names) {
      const std::string p = base + "/" + n;
      Status s = runtime_shim::UnmountRootfs(p);
      note(s);
      if (s.ok() && ::rmdir(p.c_str()) != 0 && errno != ENOENT)
        note(ErrnoStatus(errno, "remove " + p));
    }
    if (::rmdir(base.c_str()) != 0 && errno != ENOENT) note(ErrnoStatus(errno, "remove " + base));
  }
  for (int i = 0; i < config.mounts_size(); ++i) {
    if (!IsImageMount(config.mounts(i))) continue;
    if (!snap) continue;  // as for the rootfs snapshot: a missing plugin must not pin the record
    Status s = snap->Remove(ImageVolumeSnapshotKey(container_id, i));
    if (!s.ok() && s.code() != StatusCode::kNotFound)
      note(s.Wrap("remove image volume snapshot " + ImageVolumeSnapshotKey(container_id, i)));
  }
  return first.ok() ? first : first.Wrap("image volumes of container " + container_id);
}

}  // namespace berth::container
