#pragma once
// The subset of the OCI runtime-spec 1.1 (config.json) that the native runtime honours on
// Linux, as plain C++ values, and its parser.
//
// Parsing is strict about types and values it uses (a wrong type or an unknown enum value is
// INVALID_ARGUMENT naming the JSON path, e.g. "linux.namespaces[2].type"), and lenient about
// fields it does not use (annotations, hooks, …) so that specs written by other tools load.

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/status.h"

namespace berth::native {

struct User {
  uid_t uid = 0;
  gid_t gid = 0;
  std::optional<mode_t> umask;
  std::vector<gid_t> additional_gids;
};

// Capability names as in the spec ("CAP_CHOWN"); validated against libcap's list at parse time.
struct Capabilities {
  std::vector<std::string> bounding, effective, inheritable, permitted, ambient;
};

struct Rlimit {
  int resource = 0;  // RLIMIT_* (parsed from "RLIMIT_NOFILE")
  uint64_t soft = 0, hard = 0;
};

struct ProcessSpec {
  bool terminal = false;
  User user;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd = "/";
  std::optional<Capabilities> capabilities;  // absent: no capabilities at all
  std::vector<Rlimit> rlimits;
  bool no_new_privileges = false;
  std::optional<int> oom_score_adj;
};

struct Mount {
  std::string destination;
  std::string type;  // "" means bind when options contain bind/rbind
  std::string source;
  std::vector<std::string> options;
};

enum class NamespaceType { kPid, kNetwork, kMount, kIpc, kUts, kUser, kCgroup, kTime };

struct Namespace {
  NamespaceType type;
  std::string path;  // empty: create a new one; else join the namespace at this path
};

struct IdMapping {
  uint32_t container_id = 0, host_id = 0, size = 0;
};

struct Device {
  std::string path;
  char type = 'c';  // 'c', 'b', 'p' ('u' is parsed as 'c')
  int64_t major = 0, minor = 0;
  std::optional<mode_t> file_mode;
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
};

// A devices-cgroup rule: linux.resources.devices[].
struct DeviceRule {
  bool allow = false;
  char type = 'a';     // 'a', 'c', 'b'
  int64_t major = -1;  // -1 = '*'
  int64_t minor = -1;
  std::string access = "rwm";
};

struct HugepageLimit {
  std::string page_size;  // "2MB", "1GB"
  uint64_t limit = 0;
};

struct Resources {
  struct Memory {
    std::optional<int64_t> limit, reservation, swap;  // bytes; -1 = unlimited
  };
  struct Cpu {
    std::optional<uint64_t> shares;
    std::optional<int64_t> quota;  // us per period; -1 = unlimited
    std::optional<uint64_t> period;
    std::string cpus, mems;
  };
  Memory memory;
  Cpu cpu;
  std::optional<int64_t> pids_limit;  // <= 0 = unlimited
  std::vector<HugepageLimit> hugepage_limits;
  std::optional<uint16_t> blkio_weight;
  std::vector<DeviceRule> devices;
};

struct SeccompArg {
  unsigned index = 0;
  uint64_t value = 0, value_two = 0;
  std::string op;  // "SCMP_CMP_EQ", …
};

struct SeccompSyscall {
  std::vector<std::string> names;
  std::string action;  // "SCMP_ACT_ERRNO", …
  std::optional<unsigned> errno_ret;
  std::vector<SeccompArg> args;
};

struct Seccomp {
  std::string default_action = "SCMP_ACT_ALLOW";
  std::optional<unsigned> default_errno_ret;
  std::vector<std::string> architectures;  // "SCMP_ARCH_X86_64", …
  std::vector<std::string> flags;
  std::vector<SeccompSyscall> syscalls;
};

enum class Propagation { kDefault, kPrivate, kSlave, kShared, kUnbindable };

struct LinuxSpec {
  std::vector<Namespace> namespaces;
  std::vector<IdMapping> uid_mappings, gid_mappings;
  std::vector<Device> devices;
  std::string cgroups_path;
  Resources resources;
  std::map<std::string, std::string> sysctl;
  std::optional<Seccomp> seccomp;
  std::vector<std::string> masked_paths, readonly_paths;
  Propagation rootfs_propagation = Propagation::kDefault;

  // The entry for `type`, or nullptr when the container shares the runtime's namespace.
  const Namespace* FindNamespace(NamespaceType type) const;
};

struct OciSpec {
  std::string oci_version;
  ProcessSpec process;
  std::string root_path;  // as written; relative paths are relative to the bundle
  bool root_readonly = false;
  std::string hostname;
  std::vector<Mount> mounts;
  LinuxSpec linux;
};

// Parses a config.json document. INVALID_ARGUMENT names the offending field.
Result<OciSpec> ParseSpec(const nlohmann::json& doc);
// Parses one `process` object (also what Exec takes).
Result<ProcessSpec> ParseProcess(const nlohmann::json& doc);
// Parses a `linux.seccomp` object.
Result<Seccomp> ParseSeccomp(const nlohmann::json& doc);
// Parses `linux.resources` (also what Update takes).
Result<Resources> ParseResources(const nlohmann::json& doc);
// Reads and parses <bundle_dir>/config.json. NOT_FOUND when it is missing.
Result<OciSpec> LoadSpec(const std::string& bundle_dir);

std::string NamespaceTypeName(NamespaceType type);

}  // namespace berth::native
