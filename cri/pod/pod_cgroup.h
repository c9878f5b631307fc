#pragma once
// The pod's cgroup (cgroupfs driver): its directories in each v1 hierarchy berth uses (or the
// one directory under a unified v2 mount at /sys/fs/cgroup), created at RunPodSandbox so the
// pod has a cgroup to account to before any container exists, removed at RemovePodSandbox.
// Only directories berth itself created are removed (a kubelet-made parent stays).
//
// Free functions, callable from any thread.

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace berth {

// `parent` in cgroupfs syntax: "/a/b/c" (a leading "/" is implied). INVALID_ARGUMENT for a
// systemd slice name ("x.slice"), ".." components or characters that cannot be a path.
Result<std::string> NormalizeCgroupParent(const std::string& parent);

// The directories `parent` (normalised) needs in every hierarchy that do not exist yet,
// parents before children. Callers record this list before CreatePodCgroup, so that a crash in
// between still lets RemovePodCgroup undo exactly what berth made.
std::vector<std::string> PlanPodCgroup(const std::string& parent,
                                       const std::string& cgroup_root = "/sys/fs/cgroup");

// Creates `dirs` in order (existing ones are fine). On failure the directories made so far are
// removed again.
Status CreatePodCgroup(const std::vector<std::string>& dirs);

// Removes the pod's own cgroup directories of `created` (as PlanPodCgroup returned it: the
// leaves; parents such as /berth are shared and stay), with the empty child cgroups its removed
// containers left. Missing directories are fine; a cgroup that still holds processes is an
// error (FAILED_PRECONDITION).
Status RemovePodCgroup(const std::vector<std::string>& created);

struct PodCgroupStats {
  int64_t timestamp_unix_nano = 0;
  bool has_cpu = false;
  uint64_t cpu_usage_ns = 0;
  bool has_memory = false;
  uint64_t memory_usage_bytes = 0;
  uint64_t memory_working_set_bytes = 0;  // usage minus inactive file pages, as cAdvisor
  uint64_t memory_rss_bytes = 0;
  uint64_t page_faults = 0;
  uint64_t major_page_faults = 0;
  bool has_pids = false;
  uint64_t process_count = 0;
};

// Reads the pod cgroup's counters (whatever hierarchies exist; absent ones leave has_* false).
PodCgroupStats ReadPodCgroupStats(const std::string& parent,
                                  const std::string& cgroup_root = "/sys/fs/cgroup");

}  // namespace berth
