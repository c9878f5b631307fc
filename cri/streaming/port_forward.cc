#include "cri/streaming/port_forward.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace berth::streaming {
namespace {

bool SendAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

}  // namespace

void PumpSocket(int fd, const ForwardChannels& ch) {
  std::mutex mu;
  std::condition_variable cv;
  bool up_done = false;
  std::thread up([&] {
    std::vector<char> buf(size_t{64} * 1024);
    for (;;) {
      size_t n = ch.in->Read(buf.data(), buf.size());
      if (n == 0) {
        ::shutdown(fd, SHUT_WR);  // the client is done sending: pass its FIN on
        break;
      }
      if (!SendAll(fd, buf.data(), n)) {
        ::shutdown(fd, SHUT_RDWR);
        break;
      }
    }
    std::lock_guard lock(mu);
    up_done = true;
    cv.notify_all();
  });
  std::vector<char> buf(size_t{64} * 1024);
  for (;;) {
    ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (!ch.out->Write(std::string_view(buf.data(), static_cast<size_t>(n)))) {
      ::shutdown(fd, SHUT_RDWR);
      break;
    }
  }
  ch.out->Close();
  std::unique_lock lock(mu);
  if (!cv.wait_for(lock, ch.half_close_grace, [&] { return up_done; })) {
    lock.unlock();
    if (ch.abort_input) ch.abort_input();
  } else {
    lock.unlock();
  }
  up.join();
}

void ForwardOne(StreamBackend& backend, const std::string& pod_id, uint16_t port,
                const std::vector<int32_t>& allowed, const ForwardChannels& ch) {
  std::string error;
  if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), port) == allowed.end()) {
    error = "port " + std::to_string(port) + " was not requested for this port-forward session";
  } else {
    Result<UniqueFd> fd = backend.DialPod(pod_id, port);
    if (!fd.ok()) {
      error = fd.status().message();
    } else {
      int raw = fd->get();
      uint64_t h = ch.cancel->OnCancel([raw] { ::shutdown(raw, SHUT_RDWR); });
      PumpSocket(raw, ch);
      ch.cancel->Unregister(h);
    }
  }
  ch.out->Close();
  if (!error.empty()) {
    ch.error->Write("error forwarding port " + std::to_string(port) + " to pod " + pod_id +
                    ", uid : " + error);
  }
  ch.error->Close();
}

}  // namespace berth::streaming
