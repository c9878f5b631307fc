#pragma once
// EventLoop: a minimal epoll dispatcher for the shim's single thread.
//
// Add() registers a callback for an fd (borrowed: the caller closes it after Remove()). A
// callback may Add/Remove any fd, including its own; an fd removed during a dispatch round is
// not called again in that round, even if its number is reused (generation check).

#include <cstdint>
#include <functional>
#include <unordered_map>

#include "common/status.h"

namespace berth::shim {

class EventLoop {
 public:
  using Callback = std::function<void(uint32_t events)>;

  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  Status Add(int fd, uint32_t events, Callback cb);
  void Remove(int fd);
  // Dispatches until Stop(). Errors only when epoll itself fails.
  Status Run();
  void Stop() { stopped_ = true; }

 private:
  struct Entry {
    uint32_t generation;
    Callback cb;
  };
  int epfd_;
  uint32_t next_generation_ = 1;
  bool stopped_ = false;
  std::unordered_map<int, Entry> entries_;
};

}  // namespace berth::shim
