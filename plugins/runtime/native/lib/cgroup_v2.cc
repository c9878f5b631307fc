// cgroup v2 (unified hierarchy), cgroupfs driver.

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <set>
#include <sstream>

#include "common/unique_fd.h"
#include "plugins/runtime/native/lib/cgroup.h"

namespace berth::native {
namespace {

using namespace cgroup_internal;

// Controllers a Resources value needs.
std::set<std::string> Needed(const Resources& r) {
  std::set<std::string> n;
  if (r.cpu.shares || r.cpu.quota || r.cpu.period) n.insert("cpu");
  if (!r.cpu.cpus.empty() || !r.cpu.mems.empty()) n.insert("cpuset");
  if (r.memory.limit || r.memory.reservation || r.memory.swap) n.insert("memory");
  if (r.pids_limit) n.insert("pids");
  if (!r.hugepage_limits.empty()) n.insert("hugetlb");
  if (r.blkio_weight) n.insert("io");
  return n;
}

std::set<std::string> Words(const std::string& s) {
  std::istringstream in(s);
  std::set<std::string> out;
  for (std::string w; in >> w;) out.insert(w);
  return out;
}

class CgroupV2 : public Cgroup {
 public:
  CgroupV2(std::string root, std::string path, Logger logger)
      : root_(std::move(root)),
        path_(std::move(path)),
        dir_(root_ + path_),
        logger_(std::move(logger)) {}

  int version() const override { return 2; }
  const std::string& path() const override { return path_; }
  int DirFd() const override { return dir_fd_.get(); }

  Status Create(const Resources& r) override {
    std::set<std::string> needed = Needed(r);
    Result<std::string> avail = ReadCgroupFile(root_, "cgroup.controllers");
    if (!avail.ok()) return avail.status();
    std::set<std::string> have = Words(*avail);
    for (const std::string& c : needed)
      if (!have.count(c))
        return FailedPrecondition("cgroup v2 controller " + c + " is not available in " + root_ +
                                  " (cgroup.controllers: \"" + Trim(*avail) +
                                  "\"); it is bound to a v1 hierarchy or disabled");
    // Walk down from the root: enable the needed controllers for each level's children, then
    // create the next level.
    std::string dir = root_;
    size_t pos = 1;
    while (pos <= path_.size()) {
      size_t next = path_.find('/', pos);
      if (next == std::string::npos) next = path_.size();
      for (const std::string& c : needed) {
        Result<std::string> sub = ReadCgroupFile(dir, "cgroup.subtree_control");
        if (sub.ok() && Words(*sub).count(c)) continue;
        BERTH_RETURN_IF_ERROR(WriteCgroupFile(dir, "cgroup.subtree_control", "+" + c));
      }
      dir += "/" + path_.substr(pos, next - pos);
      pos = next + 1;
      BERTH_RETURN_IF_ERROR(MkdirAll(dir));
    }
    dir_fd_.reset(open(dir_.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
    if (!dir_fd_) return ErrnoStatus(errno, "open " + dir_);
    if (!r.devices.empty())
      logger_.Warn("cgroup v2 device rules need an eBPF program; not applied", {{"cgroup", path_}});
    return Update(r);
  }

  Status Update(const Resources& r) override {
    if (r.memory.reservation)
      BERTH_RETURN_IF_ERROR(Write("memory.low", Num(*r.memory.reservation)));
    if (r.memory.limit) BERTH_RETURN_IF_ERROR(Write("memory.max", Num(*r.memory.limit)));
    if (r.memory.swap) {
      // OCI swap is memory+swap; v2 limits swap alone.
      std::string v = "max";
      if (*r.memory.swap >= 0) {
        if (!r.memory.limit || *r.memory.limit < 0)
          return InvalidArgument("linux.resources.memory.swap: needs memory.limit on cgroup v2");
        if (*r.memory.swap < *r.memory.limit)
          return InvalidArgument("linux.resources.memory.swap: must be >= memory.limit");
        v = std::to_string(*r.memory.swap - *r.memory.limit);
      }
      BERTH_RETURN_IF_ERROR(Write("memory.swap.max", v));
    }
    if (r.cpu.shares)
      BERTH_RETURN_IF_ERROR(Write("cpu.weight", std::to_string(CpuSharesToWeight(*r.cpu.shares))));
    if (r.cpu.quota || r.cpu.period) {
      std::string quota = r.cpu.quota && *r.cpu.quota > 0 ? std::to_string(*r.cpu.quota) : "max";
      std::string period = std::to_string(r.cpu.period.value_or(100000));
      BERTH_RETURN_IF_ERROR(Write("cpu.max", quota + " " + period));
    }
    if (!r.cpu.cpus.empty()) BERTH_RETURN_IF_ERROR(Write("cpuset.cpus", r.cpu.cpus));
    if (!r.cpu.mems.empty()) BERTH_RETURN_IF_ERROR(Write("cpuset.mems", r.cpu.mems));
    if (r.pids_limit)
      BERTH_RETURN_IF_ERROR(
          Write("pids.max", *r.pids_limit > 0 ? std::to_string(*r.pids_limit) : "max"));
    for (const HugepageLimit& h : r.hugepage_limits)
      BERTH_RETURN_IF_ERROR(Write("hugetlb." + h.page_size + ".max", std::to_string(h.limit)));
    if (r.blkio_weight)
      BERTH_RETURN_IF_ERROR(
          Write("io.weight", "default " + std::to_string(BlkioWeightToIoWeight(*r.blkio_weight))));
    return OkStatus();
  }

  Status AddProcess(pid_t pid) override {
    return WriteCgroupFile(dir_, "cgroup.procs", std::to_string(pid));
  }

  Result<std::vector<pid_t>> Pids() const override { return ReadPids(dir_); }

  Result<CgroupStats> Stats() const override {
    CgroupStats s;
    // cpu.stat's usage_usec is a core file: present without the cpu controller.
    Result<std::string> cpu = ReadCgroupFile(dir_, "cpu.stat");
    if (!cpu.ok()) return cpu.status();
    s.cpu_usage_ns = KeyedValue(*cpu, "usage_usec") * 1000;
    Result<std::string> cur = ReadCgroupFile(dir_, "memory.current");
    if (cur.ok()) {
      s.memory_usage = std::stoull(*cur);
      Result<std::string> stat = ReadCgroupFile(dir_, "memory.stat");
      if (stat.ok()) {
        uint64_t inactive = KeyedValue(*stat, "inactive_file");
        s.memory_working_set = s.memory_usage > inactive ? s.memory_usage - inactive : 0;
        s.memory_rss = KeyedValue(*stat, "anon");
      }
      Result<std::string> events = ReadCgroupFile(dir_, "memory.events");
      if (events.ok()) s.oom_kill_count = KeyedValue(*events, "oom_kill");
      Result<std::string> max = ReadCgroupFile(dir_, "memory.max");
      if (max.ok() && Trim(*max) != "max") s.memory_limit = std::stoull(*max);
    }
    Result<std::string> pids = ReadCgroupFile(dir_, "pids.current");
    if (pids.ok())
      s.pids_current = std::stoull(*pids);
    else if (Result<std::vector<pid_t>> p = Pids(); p.ok())
      s.pids_current = p->size();
    return s;
  }

  Result<int> OomEventFd() override {
    UniqueFd fd(inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
    if (!fd) return ErrnoStatus(errno, "inotify_init1");
    if (inotify_add_watch(fd.get(), (dir_ + "/memory.events").c_str(), IN_MODIFY) < 0)
      return ErrnoStatus(errno, "watch " + dir_ + "/memory.events (memory controller enabled?)");
    return fd.release();
  }

  Status Destroy() override {
    // cgroup.kill (5.14+) kills the whole subtree atomically; fall back to a kill loop.
    (void)WriteCgroupFile(dir_, "cgroup.kill", "1");
    Status s = KillAll(dir_);
    dir_fd_.reset();
    if (!s.ok()) return s;
    return RemoveDir(dir_);
  }

 private:
  static std::string Num(int64_t v) { return v < 0 ? "max" : std::to_string(v); }
  static std::string Trim(const std::string& s) {
    size_t e = s.find_last_not_of(" \n");
    return e == std::string::npos ? "" : s.substr(0, e + 1);
  }
  Status Write(const std::string& file, const std::string& value) {
    return WriteCgroupFile(dir_, file, value);
  }

  std::string root_, path_, dir_;
  Logger logger_;
  UniqueFd dir_fd_;
};

}  // namespace

Result<std::unique_ptr<Cgroup>> NewCgroupV2(std::string root, std::string path, Logger logger) {
  if (access((root + "/cgroup.controllers").c_str(), F_OK) != 0)
    return FailedPrecondition("no cgroup v2 hierarchy at " + root);
  return std::unique_ptr<Cgroup>(
      std::make_unique<CgroupV2>(std::move(root), std::move(path), std::move(logger)));
}

}  // namespace berth::native
