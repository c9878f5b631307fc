#pragma once
// Makes sure one berthd owns a root directory at a time.
//
// An exclusive flock(2) on <root>/berthd.lock, held for the process lifetime. The kernel drops
// it when the process dies, even by SIGKILL, so a crash never leaves a stale lock; the pid
// written inside is only for the error message. The fd is O_CLOEXEC, so shims and containers
// spawned later never inherit it.

#include <string>

#include "common/status.h"

namespace berth {

class InstanceLock {
 public:
  // FAILED_PRECONDITION naming the lock file and the holder's pid when another process has it.
  static Result<InstanceLock> Acquire(const std::string& root);

  InstanceLock(InstanceLock&& other) noexcept;
  InstanceLock& operator=(InstanceLock&&) = delete;
  InstanceLock(const InstanceLock&) = delete;
  ~InstanceLock();

 private:
  explicit InstanceLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace berth
