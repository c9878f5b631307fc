#include "plugins/runtime/native/lib/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include <chrono>
#include <sstream>
#include <thread>

#include "common/fs.h"

namespace berth::native {

// Defined in cgroup_v1.cc / cgroup_v2.cc.
std::unique_ptr<Cgroup> NewCgroupV1(std::string path, Logger logger);
Result<std::unique_ptr<Cgroup>> NewCgroupV2(std::string root, std::string path, Logger logger);

uint64_t CpuSharesToWeight(uint64_t shares) {
  if (shares == 0) return 0;
  if (shares < 2) shares = 2;
  if (shares > 262144) shares = 262144;
  return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t BlkioWeightToIoWeight(uint64_t weight) {
  if (weight == 0) return 0;
  return 1 + (weight - 10) * 9999 / 990;
}

Result<std::unique_ptr<Cgroup>> MakeCgroup(const CgroupConfig& config, Logger logger) {
  std::string path = config.path;
  if (path.empty()) return InvalidArgument("linux.cgroupsPath: required");
  if (path[0] != '/') path = "/" + path;
  if (path.find("..") != std::string::npos || path.find(':') != std::string::npos)
    return InvalidArgument("linux.cgroupsPath: " + config.path +
                           " is not a cgroupfs path (systemd slices are not supported)");
  CgroupConfig::Version v = config.version;
  if (v == CgroupConfig::Version::kAuto) {
    struct statfs fs;
    v = statfs(config.v2_root.c_str(), &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC
            ? CgroupConfig::Version::kV2
            : CgroupConfig::Version::kV1;
  }
  if (v == CgroupConfig::Version::kV2) return NewCgroupV2(config.v2_root, path, std::move(logger));
  return NewCgroupV1(path, std::move(logger));
}

namespace cgroup_internal {

Status WriteCgroupFile(const std::string& dir, const std::string& file, const std::string& value) {
  std::string p = dir + "/" + file;
  int fd = open(p.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "open " + p);
  ssize_t n = write(fd, value.data(), value.size());
  int err = errno;
  close(fd);
  if (n != static_cast<ssize_t>(value.size()))
    return ErrnoStatus(err, "write \"" + value + "\" to " + p);
  return OkStatus();
}

Result<std::string> ReadCgroupFile(const std::string& dir, const std::string& file) {
  return ReadFile(dir + "/" + file);
}

uint64_t KeyedValue(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  std::string k;
  uint64_t v;
  while (in >> k >> v)
    if (k == key) return v;
  return 0;
}

Result<std::vector<pid_t>> ReadPids(const std::string& dir) {
  Result<std::string> text = ReadCgroupFile(dir, "cgroup.procs");
  if (!text.ok()) return text.status();
  std::vector<pid_t> pids;
  std::istringstream in(*text);
  for (pid_t p; in >> p;) pids.push_back(p);
  return pids;
}

Status MkdirAll(const std::string& dir) {
  if (mkdir(dir.c_str(), 0755) == 0 || errno == EEXIST) return OkStatus();
  return ErrnoStatus(errno, "mkdir " + dir);
}

Status KillAll(const std::string& dir) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  for (;;) {
    Result<std::vector<pid_t>> pids = ReadPids(dir);
    if (!pids.ok()) {
      return pids.status().code() == StatusCode::kNotFound ? OkStatus() : pids.status();
    }
    if (pids->empty()) return OkStatus();
    for (pid_t p : *pids) kill(p, SIGKILL);
    if (std::chrono::steady_clock::now() > deadline)
      return Unavailable("processes left in " + dir + " after SIGKILL");
    // Killed tasks leave the cgroup when they exit (before being reaped): a short wait.
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

Status RemoveDir(const std::string& dir) {
  for (int i = 0; i < 200; ++i) {
    if (rmdir(dir.c_str()) == 0 || errno == ENOENT) return OkStatus();
    if (errno != EBUSY) return ErrnoStatus(errno, "rmdir " + dir);
    usleep(10000);
  }
  return ErrnoStatus(EBUSY, "rmdir " + dir);
}

}  // namespace cgroup_internal
}  // namespace berth::native
