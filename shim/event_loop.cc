#include "shim/event_loop.h"

#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

namespace berth::shim {

EventLoop::EventLoop() : epfd_(epoll_create1(EPOLL_CLOEXEC)) {}

EventLoop::~EventLoop() {
  if (epfd_ >= 0) close(epfd_);
}

Status EventLoop::Add(int fd, uint32_t events, Callback cb) {
  if (epfd_ < 0) return Internal("epoll_create1 failed");
  uint32_t gen = next_generation_++;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = (uint64_t{gen} << 32) | static_cast<uint32_t>(fd);
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) < 0) return ErrnoStatus(errno, "epoll_ctl add");
  entries_[fd] = Entry{gen, std::move(cb)};
  return OkStatus();
}

void EventLoop::Remove(int fd) {
  if (entries_.erase(fd) > 0) epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
}

Status EventLoop::Run() {
  epoll_event events[16];
  while (!stopped_) {
    int n = epoll_wait(epfd_, events, 16, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "epoll_wait");
    }
    for (int i = 0; i < n && !stopped_; ++i) {
      int fd = static_cast<int>(events[i].data.u64 & 0xffffffffu);
      uint32_t gen = static_cast<uint32_t>(events[i].data.u64 >> 32);
      auto it = entries_.find(fd);
      if (it == entries_.end() || it->second.generation != gen) continue;
      Callback cb = it->second.cb;  // a copy: the callback may remove itself
      cb(events[i].events);
    }
  }
  return OkStatus();
}

}  // namespace berth::shim
