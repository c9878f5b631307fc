#include "cri/server/unix_socket.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/fs.h"

namespace berth {
namespace {

// True when something accepts connections on the socket at `path`.
bool SomeoneListens(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  bool connected = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return connected;
}

}  // namespace

Status PrepareSocketPath(const std::string& path) {
  if (path.empty() || path[0] != '/') {
    return InvalidArgument("socket path \"" + path + "\" must be absolute");
  }
  if (path.size() >= sizeof(sockaddr_un::sun_path)) {
    return InvalidArgument("socket path \"" + path + "\" is longer than the " +
                           std::to_string(sizeof(sockaddr_un::sun_path) - 1) +
                           " bytes a unix socket allows");
  }
  std::string dir = std::filesystem::path(path).parent_path().string();
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    BERTH_RETURN_IF_ERROR(MakeDirs(dir, 0700).Wrap("socket directory"));
  }
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return OkStatus();
    return ErrnoStatus(errno, "stat " + path);
  }
  if (!S_ISSOCK(st.st_mode)) {
    return FailedPrecondition(path + " exists and is not a socket; refusing to replace it");
  }
  if (SomeoneListens(path)) {
    return FailedPrecondition("another server is already listening on " + path);
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoStatus(errno, "remove stale socket " + path);
  }
  return OkStatus();
}

Status RestrictSocket(const std::string& path) {
  if (::chown(path.c_str(), 0, 0) != 0) return ErrnoStatus(errno, "chown " + path);
  if (::chmod(path.c_str(), 0660) != 0) return ErrnoStatus(errno, "chmod " + path);
  return OkStatus();
}

}  // namespace berth
