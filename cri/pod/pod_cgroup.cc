#include "cri/pod/pod_cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <map>
#include <sstream>

#include "common/fs.h"

namespace berth {
namespace {

constexpr long kCgroup2Magic = 0x63677270;  // CGROUP2_SUPER_MAGIC
// v1 hierarchies a pod gets a directory in. cpuset is left to the runtime: a new cpuset cgroup
// is unusable until cpus/mems are copied into it, which the shim does for its containers.
constexpr const char* kV1Controllers[] = {"cpu",   "cpuacct", "memory",  "pids",
                                          "blkio", "devices", "freezer", "hugetlb"};

bool IsDir(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool IsCgroup2(const std::string& p) {
  struct statfs fs;
  return ::statfs(p.c_str(), &fs) == 0 && static_cast<long>(fs.f_type) == kCgroup2Magic;
}

// The hierarchy roots to use, each once (cpu and cpuacct may be the same mount via symlinks).
std::vector<std::string> Hierarchies(const std::string& root) {
  if (IsCgroup2(root)) return {root};
  std::vector<std::string> out;
  for (const char* c : kV1Controllers) {
    std::string dir = root + "/" + c;
    if (!IsDir(dir) || IsCgroup2(dir)) continue;
    char real[PATH_MAX];
    std::string key = ::realpath(dir.c_str(), real) != nullptr ? real : dir;
    bool seen = false;
    for (const auto& o : out) {
      char r2[PATH_MAX];
      if (::realpath(o.c_str(), r2) != nullptr && key == r2) seen = true;
    }
    if (!seen) out.push_back(dir);
  }
  return out;
}

std::map<std::string, uint64_t> ReadKeyValues(const std::string& path) {
  std::map<std::string, uint64_t> out;
  auto text = ReadFile(path);
  if (!text.ok()) return out;
  std::istringstream in(*text);
  std::string k;
  uint64_t v;
  while (in >> k >> v) out[k] = v;
  return out;
}

bool ReadNumber(const std::string& path, uint64_t& out) {
  auto text = ReadFile(path);
  if (!text.ok()) return false;
  try {
    out = std::stoull(*text);
    return true;
  } catch (...) {
    return false;
  }
}

}  // namespace

Result<std::string> NormalizeCgroupParent(const std::string& parent) {
  std::string p = parent;
  if (p.empty()) return p;
  if (p.find('/') == std::string::npos && p.size() > 6 && p.ends_with(".slice")) {
    return InvalidArgument("cgroup_parent \"" + parent +
                           "\" is a systemd slice; berth uses the cgroupfs driver (paths like "
                           "/kubepods/pod<uid>)");
  }
  if (p.find_first_of(std::string("\0\n", 2)) != std::string::npos) {
    return InvalidArgument("cgroup_parent contains a NUL or newline character");
  }
  if (p[0] != '/') p = "/" + p;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  std::istringstream parts(p);
  std::string part;
  while (std::getline(parts, part, '/')) {
    if (part == ".." || part == ".") {
      return InvalidArgument("cgroup_parent \"" + parent + "\" has a \".\" or \"..\" component");
    }
  }
  return p;
}

std::vector<std::string> PlanPodCgroup(const std::string& parent, const std::string& cgroup_root) {
  std::vector<std::string> missing;
  for (const std::string& h : Hierarchies(cgroup_root)) {
    std::string dir = h;
    std::istringstream parts(parent);
    std::string part;
    while (std::getline(parts, part, '/')) {
      if (part.empty()) continue;
      dir += "/" + part;
      if (!IsDir(dir)) missing.push_back(dir);
    }
  }
  return missing;
}

Status CreatePodCgroup(const std::vector<std::string>& dirs) {
  std::vector<std::string> made;
  for (const std::string& dir : dirs) {
    if (::mkdir(dir.c_str(), 0755) == 0) {
      made.push_back(dir);
    } else if (errno != EEXIST) {
      Status s = ErrnoStatus(errno, "create cgroup " + dir);
      (void)RemovePodCgroup(made);
      return s;
    }
  }
  return OkStatus();
}

// Removes the empty child cgroups below `dir`, deepest first: what the pod's removed
// containers left (a cgroup with processes answers EBUSY and stays, so does `dir` then).
static void RemoveChildCgroups(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  std::vector<std::string> children;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != ".." && e->d_type == DT_DIR) children.push_back(dir + "/" + n);
  }
  ::closedir(d);
  for (const std::string& c : children) {
    RemoveChildCgroups(c);
    ::rmdir(c.c_str());
  }
}

// The cpuset twin of a pod cgroup directory in the v1 memory hierarchy ("<root>/memory/<path>"
// -> "<root>/cpuset/<path>"), or "" (v2, or no separate cpuset hierarchy). Pods do not create
// cpuset cgroups (see kV1Controllers) but the runtime creates the pod level there for the
// pod's containers, and removes only its container's own level: without this, every pod left
// an empty cpuset directory behind (found by tests/integration/cri_crash_test).
static std::string CpusetTwin(const std::string& dir) {
  size_t at = dir.find("/memory/");
  if (at == std::string::npos) return "";
  std::string hierarchy = dir.substr(0, at) + "/cpuset";
  if (!IsDir(hierarchy) || IsCgroup2(hierarchy)) return "";
  return hierarchy + dir.substr(at + 7);
}

Status RemovePodCgroup(const std::vector<std::string>& created) {
  Status first;
  std::vector<std::string> dirs = created;
  for (const std::string& d : created) {
    std::string twin = CpusetTwin(d);
    // Appended after its parents' twins, so the reverse walk below still goes children first.
    if (!twin.empty()) dirs.push_back(twin);
  }
  for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
    // Only below the pod's own cgroup (a leaf of `created`), never below a shared parent
    // such as /berth, which holds other pods.
    bool leaf = std::none_of(dirs.begin(), dirs.end(), [&](const std::string& o) {
      return o.size() > it->size() && o.starts_with(*it + "/");
    });
    // A parent berth made (e.g. /berth) is shared with other pods, some maybe being created
    // right now: it stays.
    if (!leaf) continue;
    RemoveChildCgroups(*it);
    // A cgroup just emptied of its last process answers EBUSY until that process is reaped
    // (an infra process orphaned by a berthd restart is reaped by init, on its own time).
    for (int attempt = 0;; ++attempt) {
      if (::rmdir(it->c_str()) == 0 || errno == ENOENT) break;
      if (errno == EBUSY && attempt < 300) {
        ::usleep(10000);
        continue;
      }
      if (first.ok()) {
        first = Status(StatusCode::kFailedPrecondition,
                       "remove cgroup " + *it + ": " + std::strerror(errno) +
                           " (processes or child cgroups left in it)");
      }
      break;
    }
  }
  return first;
}

PodCgroupStats ReadPodCgroupStats(const std::string& parent, const std::string& cgroup_root) {
  PodCgroupStats s;
  s.timestamp_unix_nano = std::chrono::duration_cast<std::chrono::nanoseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
  if (IsCgroup2(cgroup_root)) {
    std::string dir = cgroup_root + parent;
    auto cpu = ReadKeyValues(dir + "/cpu.stat");
    if (cpu.count("usage_usec")) {
      s.has_cpu = true;
      s.cpu_usage_ns = cpu["usage_usec"] * 1000;
    }
    if (ReadNumber(dir + "/memory.current", s.memory_usage_bytes)) {
      s.has_memory = true;
      auto m = ReadKeyValues(dir + "/memory.stat");
      uint64_t inactive = m["inactive_file"];
      s.memory_working_set_bytes =
          s.memory_usage_bytes > inactive ? s.memory_usage_bytes - inactive : 0;
      s.memory_rss_bytes = m["anon"];
      s.page_faults = m["pgfault"];
      s.major_page_faults = m["pgmajfault"];
    }
    s.has_pids = ReadNumber(dir + "/pids.current", s.process_count);
    return s;
  }
  s.has_cpu = ReadNumber(cgroup_root + "/cpuacct" + parent + "/cpuacct.usage", s.cpu_usage_ns);
  std::string mem = cgroup_root + "/memory" + parent;
  if (ReadNumber(mem + "/memory.usage_in_bytes", s.memory_usage_bytes)) {
    s.has_memory = true;
    auto m = ReadKeyValues(mem + "/memory.stat");
    uint64_t inactive = m["total_inactive_file"];
    s.memory_working_set_bytes =
        s.memory_usage_bytes > inactive ? s.memory_usage_bytes - inactive : 0;
    s.memory_rss_bytes = m["total_rss"];
    s.page_faults = m["total_pgfault"];
    s.major_page_faults = m["total_pgmajfault"];
  }
  s.has_pids = ReadNumber(cgroup_root + "/pids" + parent + "/pids.current", s.process_count);
  return s;
}

}  // namespace berth
