#include "plugins/runtime/shim_client/shim_client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <time.h>

#include <cstring>

#include "shim/protocol/frame.h"

namespace berth::runtime_shim {

Result<UniqueFd> DialShim(const std::string& socket_path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string path = socket_path;
  UniqueFd dir;  // a long path is reached through /proc/self/fd/<dir>/<name> (sun_path: 108)
  if (path.size() >= sizeof(addr.sun_path)) {
    size_t slash = socket_path.rfind('/');
    if (slash == std::string::npos) return InvalidArgument("bad shim socket path " + socket_path);
    dir.reset(open(socket_path.substr(0, slash).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!dir) {
      return Unavailable("shim is not running (" + socket_path + ": " + strerror(errno) + ")");
    }
    path = "/proc/self/fd/" + std::to_string(dir.get()) + socket_path.substr(slash);
    if (path.size() >= sizeof(addr.sun_path)) {
      return InvalidArgument("shim socket name too long: " + socket_path);
    }
  }
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return ErrnoStatus(errno, "socket");
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    int err = errno;
    if (err == ENOENT || err == ECONNREFUSED) {
      return Unavailable("shim is not running (" + socket_path + ": " + strerror(err) + ")");
    }
    return ErrnoStatus(err, "connect " + socket_path);
  }
  return fd;
}

namespace {

Result<shim::v1::Response> Call(const std::string& socket_path, shim::v1::Request request,
                                int timeout_ms, int close_timeout_ms) {
  Result<UniqueFd> fd = DialShim(socket_path);
  if (!fd.ok()) return fd.status();
  request.set_version(shim::v1::VERSION_1);
  BERTH_RETURN_IF_ERROR(shim::SendMessage(fd->get(), request));
  shim::v1::Response resp;
  BERTH_RETURN_IF_ERROR(shim::ReadMessage(fd->get(), &resp, timeout_ms));
  if (resp.code() != 0) return Status(static_cast<StatusCode>(resp.code()), resp.message());
  if (close_timeout_ms > 0) {
    pollfd pfd{fd->get(), POLLIN, 0};
    char byte;
    while (poll(&pfd, 1, close_timeout_ms) > 0 && read(fd->get(), &byte, 1) > 0) {
    }
  }
  return resp;
}

int64_t NowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace

Result<shim::v1::Response> CallShimWithOutput(const std::string& socket_path,
                                              shim::v1::Request request, int timeout_ms,
                                              const OutputSink& on_output) {
  int64_t deadline = timeout_ms < 0 ? -1 : NowMs() + timeout_ms;
  Result<UniqueFd> fd = DialShim(socket_path);
  if (!fd.ok()) return fd.status();
  request.set_version(shim::v1::VERSION_1);
  BERTH_RETURN_IF_ERROR(shim::SendMessage(fd->get(), request));
  shim::v1::Response resp;
  for (;;) {
    int left = -1;
    if (deadline >= 0) {
      int64_t ms = deadline - NowMs();
      if (ms <= 0) return Status(StatusCode::kDeadlineExceeded, "shim did not answer in time");
      left = static_cast<int>(ms);
    }
    resp.Clear();
    BERTH_RETURN_IF_ERROR(shim::ReadMessage(fd->get(), &resp, left));
    if (!resp.has_output()) break;
    on_output(resp.output().stream(), resp.output().data());
  }
  if (resp.code() != 0) return Status(static_cast<StatusCode>(resp.code()), resp.message());
  return resp;
}

Result<shim::v1::Response> CallShim(const std::string& socket_path, shim::v1::Request request,
                                    int timeout_ms) {
  return Call(socket_path, std::move(request), timeout_ms, 0);
}

Result<shim::v1::Response> CallShimUntilClosed(const std::string& socket_path,
                                               shim::v1::Request request, int close_timeout_ms) {
  return Call(socket_path, std::move(request), 60000, close_timeout_ms);
}

}  // namespace berth::runtime_shim
