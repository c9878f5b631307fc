#include "shim/protocol/frame.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

namespace berth::shim {
namespace {

int64_t NowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// Reads exactly `len` bytes before `deadline` (CLOCK_MONOTONIC ms; < 0: none).
Status ReadExact(int fd, char* out, size_t len, int64_t deadline, int cancel_fd) {
  size_t done = 0;
  while (done < len) {
    pollfd fds[2] = {{fd, POLLIN, 0}, {cancel_fd, POLLIN, 0}};
    int timeout = -1;
    if (deadline >= 0) {
      int64_t left = deadline - NowMs();
      if (left <= 0) return Status(StatusCode::kDeadlineExceeded, "shim did not answer in time");
      timeout = static_cast<int>(left);
    }
    int r = poll(fds, cancel_fd >= 0 ? 2 : 1, timeout);
    if (r < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "poll");
    }
    if (r == 0) continue;  // the deadline check above reports it
    if (cancel_fd >= 0 && (fds[1].revents & POLLIN)) {
      return Status(StatusCode::kCancelled, "cancelled");
    }
    ssize_t n = read(fd, out + done, len - done);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      if (errno == ECONNRESET) return Unavailable("shim closed the connection");
      return ErrnoStatus(errno, "read from shim socket");
    }
    if (n == 0) return Unavailable("shim closed the connection");
    done += static_cast<size_t>(n);
  }
  return OkStatus();
}

}  // namespace

Status AppendFrame(const google::protobuf::MessageLite& msg, std::string* out) {
  size_t size = msg.ByteSizeLong();
  if (size > kMaxFrameSize)
    return InvalidArgument("message of " + std::to_string(size) + " bytes is over the frame limit");
  uint32_t n = static_cast<uint32_t>(size);
  char header[kFrameHeaderSize] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                                   static_cast<char>(n >> 8), static_cast<char>(n)};
  out->append(header, kFrameHeaderSize);
  if (!msg.AppendToString(out)) return Internal("cannot serialize " + msg.GetTypeName());
  return OkStatus();
}

Result<bool> TakeFrame(std::string& buf, std::string* payload) {
  if (buf.size() < kFrameHeaderSize) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(buf.data());
  uint32_t n = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
  if (n > kMaxFrameSize) {
    return InvalidArgument("frame of " + std::to_string(n) + " bytes is over the limit of " +
                           std::to_string(kMaxFrameSize));
  }
  if (buf.size() < kFrameHeaderSize + n) return false;
  payload->assign(buf, kFrameHeaderSize, n);
  buf.erase(0, kFrameHeaderSize + n);
  return true;
}

Status WriteAll(int fd, const char* data, size_t len) {
  while (len > 0) {
    ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
    if (n < 0 && errno == ENOTSOCK) n = write(fd, data, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EPIPE || errno == ECONNRESET) return Unavailable("peer closed the connection");
      return ErrnoStatus(errno, "write");
    }
    data += n;
    len -= static_cast<size_t>(n);
  }
  return OkStatus();
}

Status SendMessage(int fd, const google::protobuf::MessageLite& msg) {
  std::string frame;
  BERTH_RETURN_IF_ERROR(AppendFrame(msg, &frame));
  return WriteAll(fd, frame.data(), frame.size());
}

Status ReadMessage(int fd, google::protobuf::MessageLite* msg, int timeout_ms, int cancel_fd) {
  int64_t deadline = timeout_ms < 0 ? -1 : NowMs() + timeout_ms;
  char header[kFrameHeaderSize];
  BERTH_RETURN_IF_ERROR(ReadExact(fd, header, sizeof(header), deadline, cancel_fd));
  const auto* p = reinterpret_cast<const unsigned char*>(header);
  uint32_t n = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
  if (n > kMaxFrameSize) return InvalidArgument("frame of " + std::to_string(n) + " bytes");
  std::string payload(n, '\0');
  BERTH_RETURN_IF_ERROR(ReadExact(fd, payload.data(), n, deadline, cancel_fd));
  if (!msg->ParseFromString(payload)) {
    return InvalidArgument("frame is not a valid " + msg->GetTypeName());
  }
  return OkStatus();
}

}  // namespace berth::shim
