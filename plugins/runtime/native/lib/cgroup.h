#pragma once
// A container's cgroup (cgroupfs driver): v1 (one directory per controller hierarchy) or v2
// (one directory in the unified hierarchy), behind one interface.
//
// Thread-compatible; does no I/O in the constructor. Errors name the file that failed, and a
// controller the host does not offer is FAILED_PRECONDITION naming it (only when the spec asks
// for a limit that needs it).

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/log.h"
#include "common/status.h"
#include "plugins/runtime/native/lib/spec.h"

namespace berth::native {

struct CgroupStats {
  uint64_t cpu_usage_ns = 0;
  uint64_t memory_usage = 0;
  uint64_t memory_working_set = 0;  // usage - inactive_file, as kubelet computes it
  uint64_t memory_rss = 0;          // anon memory
  uint64_t memory_limit = 0;        // 0 = unlimited / unknown
  uint64_t pids_current = 0;
  uint64_t oom_kill_count = 0;  // processes killed by the OOM killer in this cgroup
};

struct CgroupConfig {
  enum class Version { kAuto, kV1, kV2 };
  Version version = Version::kAuto;
  // linux.cgroupsPath; taken relative to the hierarchy root whether or not it starts with "/".
  std::string path;
  // Where the hierarchies are mounted: v1 controllers are found through /proc/self/mountinfo;
  // v2 uses this directory as the unified root (tests point it at their own cgroup2 mount).
  std::string v2_root = "/sys/fs/cgroup";
};

class Cgroup {
 public:
  virtual ~Cgroup() = default;
  virtual int version() const = 0;
  // The cgroup path relative to the hierarchy root, starting with "/".
  virtual const std::string& path() const = 0;

  // Creates the directories (and, v2, enables the needed controllers in the ancestors) and
  // applies `resources` (plus the devices rules, v1).
  virtual Status Create(const Resources& resources) = 0;
  // Changes limits of a live cgroup; only the fields set in `resources` are written.
  virtual Status Update(const Resources& resources) = 0;
  // Moves `pid` into the cgroup (every v1 hierarchy).
  virtual Status AddProcess(pid_t pid) = 0;
  // v2: an O_DIRECTORY fd of the cgroup for clone3's CLONE_INTO_CGROUP (owned by this object);
  // -1 for v1.
  virtual int DirFd() const { return -1; }
  virtual Result<std::vector<pid_t>> Pids() const = 0;
  virtual Result<CgroupStats> Stats() const = 0;
  // An fd that becomes readable (EPOLLIN) when the OOM killer acts in this cgroup; the caller
  // owns it. v1: an eventfd registered on memory.oom_control (read 8 bytes to re-arm); v2: an
  // inotify fd watching memory.events (drain it, then compare Stats().oom_kill_count).
  virtual Result<int> OomEventFd() = 0;
  // SIGKILLs every process left in the cgroup, waits (up to ~2 s) for it to empty, removes the
  // directories. Missing directories are fine (idempotent).
  virtual Status Destroy() = 0;
};

// Picks v1/v2 (kAuto: v2 only when the unified hierarchy is mounted at v2_root = /sys/fs/cgroup
// itself) and returns an unopened cgroup. FAILED_PRECONDITION when no hierarchy is usable.
Result<std::unique_ptr<Cgroup>> MakeCgroup(const CgroupConfig& config, Logger logger);

// cpu.shares (v1, 2..262144) → cpu.weight (v2, 1..10000), the conversion runc and the kubelet use.
uint64_t CpuSharesToWeight(uint64_t shares);
// blkio.weight (10..1000) → io.weight (1..10000).
uint64_t BlkioWeightToIoWeight(uint64_t weight);

// Helpers shared by the two drivers.
namespace cgroup_internal {
Status WriteCgroupFile(const std::string& dir, const std::string& file, const std::string& value);
Result<std::string> ReadCgroupFile(const std::string& dir, const std::string& file);
// "key value" lines (memory.stat, memory.events, cpu.stat); missing keys read as 0.
uint64_t KeyedValue(const std::string& text, const std::string& key);
Result<std::vector<pid_t>> ReadPids(const std::string& dir);
Status MkdirAll(const std::string& dir);
// Kills every pid in `dir`/cgroup.procs until it is empty or the deadline passes.
Status KillAll(const std::string& dir);
Status RemoveDir(const std::string& dir);
}  // namespace cgroup_internal

}  // namespace berth::native
