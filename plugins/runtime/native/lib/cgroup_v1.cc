// cgroup v1, cgroupfs driver: one directory per controller hierarchy, found via mountinfo.

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "common/unique_fd.h"
#include "plugins/runtime/native/lib/cgroup.h"
#include "plugins/runtime/native/lib/devices.h"

namespace berth::native {
namespace {

using namespace cgroup_internal;

constexpr const char* kControllers[] = {"cpu",     "cpuacct", "cpuset",  "memory", "pids",
                                        "devices", "blkio",   "hugetlb", "freezer"};

// controller → mount point of its v1 hierarchy.
std::map<std::string, std::string> V1Mounts() {
  std::map<std::string, std::string> out;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ss(line);
    std::vector<std::string> f;
    for (std::string w; ss >> w;) f.push_back(w);
    size_t dash = 0;
    while (dash < f.size() && f[dash] != "-") ++dash;
    if (f.size() < 5 || dash + 3 >= f.size() || f[dash + 1] != "cgroup") continue;
    std::string super = "," + f[dash + 3] + ",";
    for (const char* c : kControllers)
      if (super.find("," + std::string(c) + ",") != std::string::npos && !out.count(c))
        out[c] = f[4];
  }
  return out;
}

std::string DeviceRuleString(const DeviceRule& r) {
  auto num = [](int64_t n) { return n < 0 ? std::string("*") : std::to_string(n); };
  if (r.type == 'a') return "a";
  return std::string(1, r.type) + " " + num(r.major) + ":" + num(r.minor) + " " + r.access;
}

class CgroupV1 : public Cgroup {
 public:
  CgroupV1(std::string path, Logger logger)
      : path_(std::move(path)), logger_(std::move(logger)), mounts_(V1Mounts()) {}

  int version() const override { return 1; }
  const std::string& path() const override { return path_; }

  Status Create(const Resources& r) override {
    for (const auto& [ctrl, mnt] : mounts_) {
      // Creating level by level lets cpuset initialise each new level from its parent.
      std::string dir = mnt;
      size_t pos = 1;
      while (pos <= path_.size()) {
        size_t next = path_.find('/', pos);
        if (next == std::string::npos) next = path_.size();
        std::string parent = dir;
        dir += "/" + path_.substr(pos, next - pos);
        pos = next + 1;
        BERTH_RETURN_IF_ERROR(MkdirAll(dir));
        if (ctrl == "cpuset") {
          for (const char* f : {"cpuset.cpus", "cpuset.mems"}) {
            Result<std::string> cur = ReadCgroupFile(dir, f);
            if (cur.ok() && cur->find_first_not_of(" \n") != std::string::npos) continue;
            Result<std::string> from = ReadCgroupFile(parent, f);
            if (!from.ok()) return from.status();
            BERTH_RETURN_IF_ERROR(WriteCgroupFile(dir, f, *from));
          }
        }
      }
    }
    if (mounts_.count("devices")) {
      std::string dir = Dir("devices");
      BERTH_RETURN_IF_ERROR(WriteCgroupFile(dir, "devices.deny", "a"));
      std::vector<DeviceRule> rules = DefaultDeviceRules();
      rules.insert(rules.end(), r.devices.begin(), r.devices.end());
      for (const DeviceRule& rule : rules)
        BERTH_RETURN_IF_ERROR(WriteCgroupFile(dir, rule.allow ? "devices.allow" : "devices.deny",
                                              DeviceRuleString(rule)));
    }
    return Update(r);
  }

  Status Update(const Resources& r) override {
    if (r.cpu.shares)
      BERTH_RETURN_IF_ERROR(Write("cpu", "cpu.shares", std::to_string(*r.cpu.shares)));
    if (r.cpu.period)
      BERTH_RETURN_IF_ERROR(Write("cpu", "cpu.cfs_period_us", std::to_string(*r.cpu.period)));
    if (r.cpu.quota)
      BERTH_RETURN_IF_ERROR(Write("cpu", "cpu.cfs_quota_us", std::to_string(*r.cpu.quota)));
    if (!r.cpu.cpus.empty()) BERTH_RETURN_IF_ERROR(Write("cpuset", "cpuset.cpus", r.cpu.cpus));
    if (!r.cpu.mems.empty()) BERTH_RETURN_IF_ERROR(Write("cpuset", "cpuset.mems", r.cpu.mems));
    if (r.memory.reservation)
      BERTH_RETURN_IF_ERROR(
          Write("memory", "memory.soft_limit_in_bytes", std::to_string(*r.memory.reservation)));
    if (r.memory.limit || r.memory.swap) BERTH_RETURN_IF_ERROR(SetMemory(r.memory));
    if (r.pids_limit)
      BERTH_RETURN_IF_ERROR(
          Write("pids", "pids.max", *r.pids_limit > 0 ? std::to_string(*r.pids_limit) : "max"));
    if (r.blkio_weight)
      BERTH_RETURN_IF_ERROR(Write("blkio", "blkio.weight", std::to_string(*r.blkio_weight)));
    for (const HugepageLimit& h : r.hugepage_limits)
      BERTH_RETURN_IF_ERROR(
          Write("hugetlb", "hugetlb." + h.page_size + ".limit_in_bytes", std::to_string(h.limit)));
    return OkStatus();
  }

  Status AddProcess(pid_t pid) override {
    for (const auto& [ctrl, mnt] : mounts_)
      BERTH_RETURN_IF_ERROR(WriteCgroupFile(Dir(ctrl), "cgroup.procs", std::to_string(pid)));
    return OkStatus();
  }

  Result<std::vector<pid_t>> Pids() const override {
    for (const char* c : {"pids", "memory", "cpu", "freezer"})
      if (mounts_.count(c)) return ReadPids(Dir(c));
    return FailedPrecondition("no cgroup v1 hierarchy mounted");
  }

  Result<CgroupStats> Stats() const override {
    CgroupStats s;
    if (mounts_.count("cpuacct")) {
      Result<std::string> u = ReadCgroupFile(Dir("cpuacct"), "cpuacct.usage");
      if (!u.ok()) return u.status();
      s.cpu_usage_ns = std::stoull(*u);
    }
    if (mounts_.count("memory")) {
      std::string dir = Dir("memory");
      Result<std::string> usage = ReadCgroupFile(dir, "memory.usage_in_bytes");
      Result<std::string> stat = ReadCgroupFile(dir, "memory.stat");
      Result<std::string> oom = ReadCgroupFile(dir, "memory.oom_control");
      Result<std::string> limit = ReadCgroupFile(dir, "memory.limit_in_bytes");
      if (!usage.ok()) return usage.status();
      if (!stat.ok()) return stat.status();
      s.memory_usage = std::stoull(*usage);
      uint64_t inactive = KeyedValue(*stat, "total_inactive_file");
      s.memory_working_set = s.memory_usage > inactive ? s.memory_usage - inactive : 0;
      s.memory_rss = KeyedValue(*stat, "total_rss");
      if (oom.ok()) s.oom_kill_count = KeyedValue(*oom, "oom_kill");
      if (limit.ok()) {
        uint64_t l = std::stoull(*limit);
        s.memory_limit =
            l >= (uint64_t{1} << 62) ? 0 : l;  // "unlimited" is a huge page-rounded value
      }
    }
    if (mounts_.count("pids")) {
      Result<std::string> cur = ReadCgroupFile(Dir("pids"), "pids.current");
      if (cur.ok()) s.pids_current = std::stoull(*cur);
    }
    return s;
  }

  Result<int> OomEventFd() override {
    if (!mounts_.count("memory")) return FailedPrecondition("memory cgroup controller not mounted");
    std::string dir = Dir("memory");
    UniqueFd efd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!efd) return ErrnoStatus(errno, "eventfd");
    // The registration only needs the oom_control fd while writing event_control.
    UniqueFd ofd(open((dir + "/memory.oom_control").c_str(), O_RDONLY | O_CLOEXEC));
    if (!ofd) return ErrnoStatus(errno, "open memory.oom_control");
    BERTH_RETURN_IF_ERROR(WriteCgroupFile(
        dir, "cgroup.event_control", std::to_string(efd.get()) + " " + std::to_string(ofd.get())));
    return efd.release();
  }

  Status Destroy() override {
    Status first;
    std::string freezer = mounts_.count("freezer") ? Dir("freezer") : "";
    // Freeze first so nothing can fork while we kill.
    bool frozen = !freezer.empty() && WriteCgroupFile(freezer, "freezer.state", "FROZEN").ok();
    Result<std::vector<pid_t>> pids = Pids();
    if (pids.ok())
      for (pid_t p : *pids) kill(p, SIGKILL);
    if (frozen) (void)WriteCgroupFile(freezer, "freezer.state", "THAWED");
    for (const char* c : {"pids", "memory", "cpu"})
      if (mounts_.count(c)) {
        Status s = KillAll(Dir(c));
        if (!s.ok() && first.ok()) first = s;
        break;
      }
    std::set<std::string> done;
    for (const auto& [ctrl, mnt] : mounts_) {
      if (!done.insert(mnt).second) continue;
      Status s = RemoveDir(Dir(ctrl));
      if (!s.ok() && first.ok()) first = s;
    }
    return first;
  }

 private:
  std::string Dir(const std::string& ctrl) const { return mounts_.at(ctrl) + path_; }

  Status Write(const std::string& ctrl, const std::string& file, const std::string& value) {
    if (!mounts_.count(ctrl))
      return FailedPrecondition("cgroup v1 controller " + ctrl + " is not mounted (needed for " +
                                file + ")");
    return WriteCgroupFile(Dir(ctrl), file, value);
  }

  Status SetMemory(const Resources::Memory& m) {
    std::string dir = Dir("memory");
    if (!mounts_.count("memory"))
      return FailedPrecondition("cgroup v1 controller memory is not mounted");
    auto val = [](int64_t v) { return v < 0 ? std::string("-1") : std::to_string(v); };
    bool memsw = access((dir + "/memory.memsw.limit_in_bytes").c_str(), F_OK) == 0;
    if (m.swap && !memsw && !(m.limit && *m.swap == *m.limit) && *m.swap != -1)
      return FailedPrecondition(
          "memory.swap needs swap accounting (memory.memsw.*), not enabled on this host");
    // limit <= memsw must hold at every step: order the two writes accordingly.
    auto set_limit = [&] {
      return m.limit ? WriteCgroupFile(dir, "memory.limit_in_bytes", val(*m.limit)) : OkStatus();
    };
    auto set_swap = [&] {
      return m.swap && memsw ? WriteCgroupFile(dir, "memory.memsw.limit_in_bytes", val(*m.swap))
                             : OkStatus();
    };
    Status s = set_limit();
    if (!s.ok()) {
      BERTH_RETURN_IF_ERROR(set_swap());
      return set_limit();
    }
    return set_swap();
  }

  std::string path_;
  Logger logger_;
  std::map<std::string, std::string> mounts_;
};

}  // namespace

std::unique_ptr<Cgroup> NewCgroupV1(std::string path, Logger logger) {
  return std::make_unique<CgroupV1>(std::move(path), std::move(logger));
}

}  // namespace berth::native
