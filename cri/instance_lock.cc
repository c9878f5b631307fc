#include "cri/instance_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>

#include "common/fs.h"

namespace berth {

Result<InstanceLock> InstanceLock::Acquire(const std::string& root) {
  std::string path = root + "/berthd.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus(errno, "open lock file " + path);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd);
    if (err != EWOULDBLOCK) return ErrnoStatus(err, "lock " + path);
    std::string holder = "another process";
    if (auto pid = ReadFile(path); pid.ok() && !pid->empty()) holder = "berthd pid " + *pid;
    return FailedPrecondition(root + " is in use by " + holder + " (lock " + path +
                              "); stop it or give this berthd another --root");
  }
  std::string pid = std::to_string(::getpid());
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    int err = errno;
    ::close(fd);
    return ErrnoStatus(err, "write pid to " + path);
  }
  return InstanceLock(fd);
}

InstanceLock::InstanceLock(InstanceLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }

InstanceLock::~InstanceLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace berth
