#include "cri/container/image_users.h"

#include <filesystem>

#include "common/fs.h"
#include "common/safe_path.h"
#include "plugins/runtime/shim_client/rootfs_mount.h"

namespace berth::container {
namespace {

// A file of the image's rootfs, never following links out of it; "" when absent.
std::string ReadInRoot(const SafeRoot& root, const std::string& path) {
  Result<UniqueFd> fd = root.Resolve(path, kResolveFollowFinal);
  if (!fd.ok()) return "";
  Result<std::string> text = ReadFile("/proc/self/fd/" + std::to_string(fd->get()));
  return text.ok() ? *text : "";
}

}  // namespace

Result<ImageUserFiles> ReadImageUserFiles(const std::vector<plugin::v1::Mount>& rootfs,
                                          const std::string& peek_dir) {
  google::protobuf::RepeatedPtrField<plugin::v1::Mount> ro(rootfs.begin(), rootfs.end());
  for (auto& m : ro) m.add_options("ro");
  BERTH_RETURN_IF_ERROR(
      runtime_shim::MountRootfs(ro, peek_dir).Wrap("mount rootfs to read /etc/passwd"));
  ImageUserFiles files;
  if (Result<SafeRoot> root = SafeRoot::Open(peek_dir); root.ok()) {
    files.passwd = ReadInRoot(*root, "/etc/passwd");
    files.group = ReadInRoot(*root, "/etc/group");
  }
  (void)runtime_shim::UnmountRootfs(peek_dir);
  std::error_code ec;
  std::filesystem::remove(peek_dir, ec);
  return files;
}

}  // namespace berth::container
