#include "plugins/runtime/shim_client/attach_pump.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

#include "berth/shim/v1/shim.pb.h"
#include "plugins/runtime/shim_client/shim_client.h"
#include "shim/protocol/frame.h"

namespace berth::runtime_shim {
namespace {

Result<UniqueFd> OpenWriter(const std::string& path) {
  if (path.empty()) return UniqueFd();
  // O_NONBLOCK: never wait for a reader here (ENXIO instead), and later writes are polled.
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fd) {
    if (errno == ENXIO) {
      return FailedPrecondition("attach: " + path + " has no reader (open it for reading first)");
    }
    return ErrnoStatus(errno, "attach: open " + path);
  }
  return fd;
}

}  // namespace

Result<std::unique_ptr<AttachPump>> AttachPump::Start(const std::string& socket_path,
                                                      const std::string& exec_id,
                                                      const std::string& stdout_path,
                                                      const std::string& stderr_path) {
  std::unique_ptr<AttachPump> p(new AttachPump());
  Result<UniqueFd> out = OpenWriter(stdout_path);
  if (!out.ok()) return out.status();
  Result<UniqueFd> err = OpenWriter(stderr_path);
  if (!err.ok()) return err.status();
  p->out_ = std::move(*out);
  p->err_ = std::move(*err);
  p->cancel_.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!p->cancel_) return ErrnoStatus(errno, "eventfd");
  Result<UniqueFd> sock = DialShim(socket_path);
  if (!sock.ok()) return sock.status();
  p->sock_ = std::move(*sock);
  shim::v1::Request req;
  req.set_version(shim::v1::VERSION_1);
  req.mutable_attach()->set_exec_id(exec_id);
  BERTH_RETURN_IF_ERROR(shim::SendMessage(p->sock_.get(), req));
  p->thread_ = std::thread([raw = p.get()] { raw->Run(); });
  return p;
}

AttachPump::~AttachPump() {
  {
    std::lock_guard<std::mutex> lock(cancel_mu_);
    uint64_t one = 1;
    if (cancel_) (void)!write(cancel_.get(), &one, sizeof(one));
  }
  if (thread_.joinable()) thread_.join();
}

bool AttachPump::Write(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = write(fd, data.data() + off, data.size() - off);
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) return false;  // EPIPE: the reader is gone
    pollfd pfd[2] = {{fd, POLLOUT, 0}, {cancel_.get(), POLLIN, 0}};
    if (poll(pfd, 2, -1) < 0 && errno != EINTR) return false;
    if (pfd[1].revents) return false;
    if (pfd[0].revents & POLLERR) return false;
  }
  return true;
}

void AttachPump::Run() {
  sigset_t pipe_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, nullptr);
  for (;;) {
    // A FIFO's write end polls POLLERR once its last reader is gone, even with no output.
    pollfd pfd[4] = {{sock_.get(), POLLIN, 0},
                     {cancel_.get(), POLLIN, 0},
                     {out_ ? out_.get() : -1, 0, 0},
                     {err_ ? err_.get() : -1, 0, 0}};
    int r = poll(pfd, 4, -1);
    if (r < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (pfd[1].revents || (pfd[2].revents & (POLLERR | POLLHUP)) ||
        (pfd[3].revents & (POLLERR | POLLHUP))) {
      break;
    }
    if (pfd[0].revents == 0) continue;
    shim::v1::Response resp;
    if (!shim::ReadMessage(sock_.get(), &resp, 10000, cancel_.get()).ok()) break;
    if (!resp.has_output()) break;  // the final state (the process exited) or an error
    int fd = resp.output().stream() == 2 ? err_.get() : out_.get();
    if (fd >= 0 && !Write(fd, resp.output().data())) break;
  }
  // Writes that failed with EPIPE left a SIGPIPE pending on this thread: discard it.
  timespec zero{0, 0};
  while (sigtimedwait(&pipe_set, nullptr, &zero) > 0) {
  }
  out_.reset();  // EOF for the readers
  err_.reset();
  sock_.reset();
  {
    // A finished pump holds no fd while it waits to be joined (at the next Attach of the
    // task or its deletion).
    std::lock_guard<std::mutex> lock(cancel_mu_);
    cancel_.reset();
  }
  done_.store(true);
}

}  // namespace berth::runtime_shim
