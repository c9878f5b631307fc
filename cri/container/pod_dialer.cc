// ContainerStreams::DialPod: a TCP connection to a port on the pod's loopback, made inside the
// pod's network namespace (see container_streams.h).
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "cri/container/container_streams.h"

namespace berth {
namespace {

constexpr int kConnectTimeoutMs = 5000;

// One connect attempt; the socket on success, else the errno of the failure.
Result<UniqueFd> ConnectTo(int family, uint16_t port, int* err) {
  UniqueFd fd(socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) {
    *err = errno;
    return ErrnoStatus(errno, "socket");
  }
  sockaddr_storage ss{};
  socklen_t len;
  if (family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof(*a);
  } else {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    a->sin6_addr = in6addr_loopback;
    len = sizeof(*a);
  }
  int rc = connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len);
  if (rc != 0 && errno == EINPROGRESS) {
    pollfd pfd{fd.get(), POLLOUT, 0};
    int r;
    do {
      r = poll(&pfd, 1, kConnectTimeoutMs);
    } while (r < 0 && errno == EINTR);
    if (r == 0) {
      *err = ETIMEDOUT;
      return Unavailable("timed out");
    }
    int so_error = 0;
    socklen_t sl = sizeof(so_error);
    getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &so_error, &sl);
    rc = so_error == 0 ? 0 : -1;
    errno = so_error;
  }
  if (rc != 0) {
    *err = errno;
    return ErrnoStatus(errno, "connect");
  }
  // The caller gets a blocking socket, as for any accepted/connected one.
  fcntl(fd.get(), F_SETFL, fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK);
  int one = 1;
  setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

// 127.0.0.1:port, then [::1]:port (a server may listen on only one of them).
Result<UniqueFd> DialLoopback(uint16_t port, const std::string& where) {
  int err4 = 0, err6 = 0;
  Result<UniqueFd> fd = ConnectTo(AF_INET, port, &err4);
  if (fd.ok()) return fd;
  fd = ConnectTo(AF_INET6, port, &err6);
  if (fd.ok()) return fd;
  std::string p = std::to_string(port);
  if (err4 == ECONNREFUSED && (err6 == ECONNREFUSED || err6 == EADDRNOTAVAIL ||
                               err6 == EAFNOSUPPORT || err6 == ENETUNREACH)) {
    return Unavailable("connection refused on port " + p + " " + where);
  }
  int err = err4 != ECONNREFUSED ? err4 : err6;
  return Unavailable("cannot connect to port " + p + " " + where + ": " + strerror(err));
}

}  // namespace

Result<UniqueFd> ContainerStreams::DialPod(const std::string& pod_id, uint16_t port) {
  if (port == 0) return InvalidArgument("port 0 is not a port");
  if (!pods_) return Unavailable("no pod manager");
  Result<PodView> pod = pods_(pod_id);
  if (!pod.ok()) return pod.status();
  if (pod->state != PodState::kReady) {
    return FailedPrecondition("pod " + pod->id + " is not ready");
  }
  std::string where = "inside pod " + pod->id;
  if (pod->host_network) return DialLoopback(port, "on the host (pod " + pod->id + ")");
  if (pod->netns_path.empty()) {
    return FailedPrecondition("pod " + pod->id + " has no network namespace");
  }
  UniqueFd ns(open(pod->netns_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns) {
    if (errno == ENOENT)
      return FailedPrecondition("the network namespace of pod " + pod->id + " is gone (" +
                                pod->netns_path + ")");
    return ErrnoStatus(errno, "open " + pod->netns_path);
  }
  // setns(CLONE_NEWNET) changes only the calling thread's namespace: a thread of its own that
  // ends right after, so no other work ever runs in the pod's namespace by accident. The socket
  // belongs to the namespace it was created in, whatever thread uses it later.
  Result<UniqueFd> result = Internal("dial thread did not run");
  std::thread t([&] {
    if (setns(ns.get(), CLONE_NEWNET) != 0) {
      result = ErrnoStatus(errno, "enter the network namespace of pod " + pod->id);
      return;
    }
    result = DialLoopback(port, where);
  });
  t.join();
  return result;
}

}  // namespace berth
