#include "cri/container/stream_pumps.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>

namespace berth::container {
namespace {

constexpr size_t kChunk = 32 * 1024;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Wakeup::Wakeup() : fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

void Wakeup::Fire() {
  uint64_t one = 1;
  (void)!write(fd_.get(), &one, sizeof(one));
}

bool Wakeup::Fired() const {
  pollfd pfd{fd_.get(), POLLIN, 0};
  return poll(&pfd, 1, 0) > 0;
}

FifoDir::~FifoDir() {
  for (const std::string& f : fifos_) unlink(f.c_str());
  if (!path_.empty()) rmdir(path_.c_str());
}

Status FifoDir::Create(const std::string& path) {
  std::string parent = path.substr(0, path.rfind('/'));
  if (mkdir(parent.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoStatus(errno, "mkdir " + parent);
  }
  if (mkdir(path.c_str(), 0700) != 0) return ErrnoStatus(errno, "mkdir " + path);
  path_ = path;
  return OkStatus();
}

Result<std::string> FifoDir::Fifo(const std::string& name) {
  std::string p = path_ + "/" + name;
  if (mkfifo(p.c_str(), 0600) != 0) return ErrnoStatus(errno, "mkfifo " + p);
  fifos_.push_back(p);
  return p;
}

Result<UniqueFd> FifoDir::OpenReader(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fd) return ErrnoStatus(errno, "open " + path);
  return fd;
}

ScopedNoSigpipe::ScopedNoSigpipe() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

ScopedNoSigpipe::~ScopedNoSigpipe() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  timespec zero{0, 0};
  while (sigtimedwait(&set, nullptr, &zero) > 0) {
  }
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

bool WriteFifo(int fd, const char* data, size_t len, const Wakeup& stop) {
  size_t off = 0;
  while (off < len) {
    ssize_t n = write(fd, data + off, len - off);
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) return false;  // EPIPE: nobody reads it any more
    pollfd pfd[2] = {{fd, POLLOUT, 0}, {stop.fd(), POLLIN, 0}};
    if (poll(pfd, 2, -1) < 0 && errno != EINTR) return false;
    if (pfd[1].revents) return false;
    if ((pfd[0].revents & POLLERR) != 0) return false;
  }
  return true;
}

bool PumpInput(streaming::InputChannel* in, UniqueFd fifo, const Wakeup& stop) {
  ScopedNoSigpipe no_sigpipe;
  std::string buf(kChunk, '\0');
  for (;;) {
    size_t n = in->Read(buf.data(), buf.size());
    if (stop.Fired()) return false;
    if (n == 0) return true;  // the client closed stdin: `fifo` closes, the reader sees EOF
    if (!WriteFifo(fifo.get(), buf.data(), n, stop)) return false;
  }
}

void PumpOutput(UniqueFd fifo, streaming::OutputChannel* out, const Wakeup& drain,
                const Wakeup& stop, DrainLimits limits) {
  std::string buf(kChunk, '\0');
  bool writable = out != nullptr;
  int64_t drain_start = -1, last_data = 0;
  for (;;) {
    if (drain_start < 0 && drain.Fired()) drain_start = last_data = NowMs();
    int timeout = -1;
    if (drain_start >= 0) {
      int64_t now = NowMs();
      int64_t left = std::min(last_data + limits.idle_ms, drain_start + limits.max_ms) - now;
      if (left <= 0) break;
      timeout = static_cast<int>(left);
    }
    // Once draining, the (fired) drain wake-up stays readable: poll it no more.
    pollfd pfd[3] = {{fifo.get(), POLLIN, 0},
                     {stop.fd(), POLLIN, 0},
                     {drain_start < 0 ? drain.fd() : -1, POLLIN, 0}};
    int r = poll(pfd, 3, timeout);
    if (r < 0 && errno != EINTR) break;
    if (pfd[1].revents != 0) break;
    if (r <= 0 || pfd[0].revents == 0) continue;
    ssize_t n = read(fifo.get(), buf.data(), buf.size());
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) break;  // EOF: every writer closed
    last_data = NowMs();
    if (writable && !out->Write(std::string_view(buf.data(), static_cast<size_t>(n)))) {
      writable = false;  // the client reset the stream: keep the writer from stalling
    }
  }
  if (out != nullptr) out->Close();
}

}  // namespace berth::container
