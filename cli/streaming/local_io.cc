#include "cli/streaming/local_io.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>

namespace berth::cli::streaming {

FdInput::FdInput(int fd) : fd_(fd), wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

size_t FdInput::Read(char* buf, size_t len) {
  for (;;) {
    struct pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_.get(), POLLIN, 0}};
    int n = ::poll(fds, wake_ ? 2 : 1, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return 0;
    }
    if (wake_ && fds[1].revents != 0) return 0;
    ssize_t r = ::read(fd_, buf, len);
    if (r > 0) return static_cast<size_t>(r);
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    return 0;  // EOF or error
  }
}

void FdInput::Interrupt() {
  uint64_t one = 1;
  if (wake_) (void)!::write(wake_.get(), &one, sizeof one);
}

size_t StreamInput::Read(char* buf, size_t len) {
  if (len == 0) return 0;
  int c = in_.get();
  if (c == std::char_traits<char>::eof()) return 0;
  buf[0] = static_cast<char>(c);
  std::streamsize more = in_.readsome(buf + 1, static_cast<std::streamsize>(len - 1));
  return 1 + static_cast<size_t>(more > 0 ? more : 0);
}

bool FdOutput::Write(std::string_view data) {
  if (broken_) return false;
  while (!data.empty()) {
    ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {  // a non-blocking stdout: wait until it drains
        struct pollfd p = {fd_, POLLOUT, 0};
        ::poll(&p, 1, -1);
        continue;
      }
      broken_ = true;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool StreamOutput::Write(std::string_view data) {
  std::lock_guard<std::mutex> lock(mu_);
  out_.write(data.data(), static_cast<std::streamsize>(data.size()));
  out_.flush();
  return static_cast<bool>(out_);
}

}  // namespace berth::cli::streaming
