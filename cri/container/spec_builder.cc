#include "cri/container/spec_builder.h"

#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "common/fs.h"
#include "cri/container/host_devices.h"
#include "cri/container/image_volumes.h"
#include "plugins/runtime/native/lib/seccomp.h"

namespace berth::container {

using nlohmann::json;
namespace cri = runtime::v1;

// containerd's defaults (pkg/cri/opts, oci/spec.go), so that pods behave the same on berth.
const std::vector<std::string> kDefaultCapabilities = {
    "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
    "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
    "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
    "CAP_KILL",    "CAP_AUDIT_WRITE"};
const std::vector<std::string> kDefaultMaskedPaths = {"/proc/acpi",
                                                      "/proc/asound",
                                                      "/proc/kcore",
                                                      "/proc/keys",
                                                      "/proc/latency_stats",
                                                      "/proc/timer_list",
                                                      "/proc/timer_stats",
                                                      "/proc/sched_debug",
                                                      "/proc/scsi",
                                                      "/sys/firmware",
                                                      "/sys/devices/virtual/powercap"};
const std::vector<std::string> kDefaultReadonlyPaths = {"/proc/bus", "/proc/fs", "/proc/irq",
                                                        "/proc/sys", "/proc/sysrq-trigger"};

namespace {

constexpr char kDefaultPath[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Capability numbers 0..40 (linux/capability.h).
constexpr const char* kCapNames[] = {"CHOWN",
                                     "DAC_OVERRIDE",
                                     "DAC_READ_SEARCH",
                                     "FOWNER",
                                     "FSETID",
                                     "KILL",
                                     "SETGID",
                                     "SETUID",
                                     "SETPCAP",
                                     "LINUX_IMMUTABLE",
                                     "NET_BIND_SERVICE",
                                     "NET_BROADCAST",
                                     "NET_ADMIN",
                                     "NET_RAW",
                                     "IPC_LOCK",
                                     "IPC_OWNER",
                                     "SYS_MODULE",
                                     "SYS_RAWIO",
                                     "SYS_CHROOT",
                                     "SYS_PTRACE",
                                     "SYS_PACCT",
                                     "SYS_ADMIN",
                                     "SYS_BOOT",
                                     "SYS_NICE",
                                     "SYS_RESOURCE",
                                     "SYS_TIME",
                                     "SYS_TTY_CONFIG",
                                     "MKNOD",
                                     "LEASE",
                                     "AUDIT_WRITE",
                                     "AUDIT_CONTROL",
                                     "SETFCAP",
                                     "MAC_OVERRIDE",
                                     "MAC_ADMIN",
                                     "SYSLOG",
                                     "WAKE_ALARM",
                                     "BLOCK_SUSPEND",
                                     "AUDIT_READ",
                                     "PERFMON",
                                     "BPF",
                                     "CHECKPOINT_RESTORE"};
constexpr int kKnownCaps = sizeof(kCapNames) / sizeof(kCapNames[0]);

std::string EnvKey(const std::string& kv) { return kv.substr(0, kv.find('=')); }

void SetEnv(std::vector<std::string>& env, const std::string& kv) {
  std::string key = EnvKey(kv);
  for (std::string& e : env) {
    if (EnvKey(e) == key) {
      e = kv;
      return;
    }
  }
  env.push_back(kv);
}

Result<std::string> NormalizeCap(const std::string& name, int cap_last_cap) {
  std::string up;
  for (char c : name) up += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (up.rfind("CAP_", 0) == 0) up = up.substr(4);
  for (int i = 0; i < kKnownCaps && i <= cap_last_cap; ++i)
    if (up == kCapNames[i]) return "CAP_" + up;
  return InvalidArgument("unknown capability \"" + name +
                         "\" in security_context.capabilities (expected a name like "
                         "NET_ADMIN or CAP_NET_ADMIN that this kernel knows)");
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

bool IsAll(const std::string& c) {
  std::string up;
  for (char ch : c) up += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return up == "ALL" || up == "CAP_ALL";
}

bool HasAll(const google::protobuf::RepeatedPtrField<std::string>& list) {
  return std::any_of(list.begin(), list.end(), IsAll);
}

json SeccompToJson(const native::Seccomp& s) {
  json j = {{"defaultAction", s.default_action}, {"architectures", s.architectures}};
  if (s.default_errno_ret) j["defaultErrnoRet"] = *s.default_errno_ret;
  if (!s.flags.empty()) j["flags"] = s.flags;
  json calls = json::array();
  for (const native::SeccompSyscall& c : s.syscalls) {
    json jc = {{"names", c.names}, {"action", c.action}};
    if (c.errno_ret) jc["errnoRet"] = *c.errno_ret;
    if (!c.args.empty()) {
      json args = json::array();
      for (const native::SeccompArg& a : c.args)
        args.push_back(
            {{"index", a.index}, {"value", a.value}, {"valueTwo", a.value_two}, {"op", a.op}});
      jc["args"] = std::move(args);
    }
    calls.push_back(std::move(jc));
  }
  j["syscalls"] = std::move(calls);
  return j;
}

// A Localhost profile in OCI or Docker format → an OCI linux.seccomp section. Docker's
// "archMap" becomes "architectures"; entries conditioned on capabilities ("includes"/"excludes"
// "caps") are kept only when the container's bounding set satisfies them (as Docker does).
Result<json> LocalhostSeccomp(const std::string& path, const std::vector<std::string>& bounding) {
  if (path.empty() || path[0] != '/') {
    return InvalidArgument("seccomp Localhost profile path \"" + path +
                           "\" must be an absolute path on the node");
  }
  Result<std::string> text = ReadFile(path);
  if (!text.ok()) {
    return InvalidArgument("cannot read seccomp Localhost profile \"" + path +
                           "\": " + text.status().message());
  }
  json doc = json::parse(*text, nullptr, false);
  if (!doc.is_object() || !doc.contains("defaultAction")) {
    return InvalidArgument("seccomp Localhost profile \"" + path +
                           "\" is not a JSON seccomp profile with a defaultAction");
  }
  json out = {{"defaultAction", doc["defaultAction"]}};
  for (const char* k : {"defaultErrnoRet", "flags", "listenerPath", "listenerMetadata"})
    if (doc.contains(k)) out[k] = doc[k];
  json arches = doc.value("architectures", json::array());
  if (doc.contains("archMap") && doc["archMap"].is_array()) {
    for (const json& a : doc["archMap"]) {
      if (a.contains("architecture")) arches.push_back(a["architecture"]);
      for (const json& sub : a.value("subArchitectures", json::array())) arches.push_back(sub);
    }
  }
  out["architectures"] = arches;
  json calls = json::array();
  for (const json& c : doc.value("syscalls", json::array())) {
    if (!c.is_object()) continue;
    auto caps_of = [&](const char* key) {
      std::vector<std::string> caps;
      if (c.contains(key) && c[key].is_object() && c[key].contains("caps"))
        for (const json& cap : c[key]["caps"])
          if (cap.is_string()) caps.push_back(cap.get<std::string>());
      return caps;
    };
    bool keep = true;
    for (const std::string& cap : caps_of("includes")) keep = keep && Contains(bounding, cap);
    for (const std::string& cap : caps_of("excludes")) keep = keep && !Contains(bounding, cap);
    if (!keep) continue;
    json jc;
    if (c.contains("names"))
      jc["names"] = c["names"];
    else if (c.contains("name"))
      jc["names"] = json::array({c["name"]});
    for (const char* k : {"action", "errnoRet", "args"})
      if (c.contains(k)) jc[k] = c[k];
    calls.push_back(std::move(jc));
  }
  out["syscalls"] = std::move(calls);
  return out;
}

// The profile a security context asks for: the SecurityProfile field, else the deprecated
// path string ("runtime/default", "docker/default", "unconfined", "localhost/<path>").
struct Profile {
  enum Kind { kUnconfined, kRuntimeDefault, kLocalhost } kind = kUnconfined;
  std::string path;
};

Result<Profile> SeccompProfileOf(const cri::LinuxContainerSecurityContext& sc) {
  if (sc.has_seccomp()) {
    switch (sc.seccomp().profile_type()) {
      case cri::SecurityProfile::RuntimeDefault:
        return Profile{Profile::kRuntimeDefault, ""};
      case cri::SecurityProfile::Unconfined:
        return Profile{Profile::kUnconfined, ""};
      case cri::SecurityProfile::Localhost:
        return Profile{Profile::kLocalhost, sc.seccomp().localhost_ref()};
      default:
        return InvalidArgument("unknown seccomp profile type " +
                               std::to_string(sc.seccomp().profile_type()));
    }
  }
  // The deprecated field is still what older kubelets send.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  const std::string& p = sc.seccomp_profile_path();
#pragma GCC diagnostic pop
  if (p.empty() || p == "unconfined") return Profile{Profile::kUnconfined, ""};
  if (p == "runtime/default" || p == "docker/default") return Profile{Profile::kRuntimeDefault, ""};
  if (p.rfind("localhost/", 0) == 0) return Profile{Profile::kLocalhost, p.substr(10)};
  return InvalidArgument("unknown seccomp_profile_path \"" + p +
                         "\" (expected runtime/default, unconfined or localhost/<path>)");
}

json BindMount(const std::string& dst, const std::string& src, bool readonly,
               std::vector<std::string> extra = {}) {
  std::vector<std::string> opts = {"rbind", "rprivate", readonly ? "ro" : "rw"};
  opts.insert(opts.end(), extra.begin(), extra.end());
  return {{"destination", dst}, {"type", "bind"}, {"source", src}, {"options", opts}};
}

std::string Clean(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

}  // namespace

Status ValidateContainerConfig(const cri::ContainerConfig& config, const PodView& pod) {
  if (config.metadata().name().empty()) return InvalidArgument("config.metadata.name is required");
  if (config.image().image().empty()) return InvalidArgument("config.image.image is required");
  const auto& sc = config.linux().security_context();
  if (sc.privileged() && !pod.config.linux().security_context().privileged()) {
    return InvalidArgument(
        "container " + config.metadata().name() +
        " asks to be privileged but its pod's security context is not privileged "
        "(set linux.security_context.privileged on the pod sandbox config)");
  }
  BERTH_RETURN_IF_ERROR(ValidateUserRequest(sc));
  for (const cri::Mount& m : config.mounts()) {
    if (m.container_path().empty() || m.container_path()[0] != '/')
      return InvalidArgument("mount container_path \"" + m.container_path() +
                             "\" must be an absolute path");
    if (m.host_path().empty() && ImageVolumeRef(m).empty())
      return InvalidArgument("mount " + m.container_path() + " has neither host_path nor image");
    BERTH_RETURN_IF_ERROR(ValidateImageVolumeMount(m));
    if (!m.host_path().empty() && m.host_path()[0] != '/')
      return InvalidArgument("mount host_path \"" + m.host_path() + "\" must be absolute");
  }
  if (config.linux().security_context().namespace_options().pid() == cri::TARGET &&
      config.linux().security_context().namespace_options().target_id().empty())
    return InvalidArgument("pid namespace mode TARGET needs namespace_options.target_id");
  if (!sc.privileged()) {
    Result<Profile> p = SeccompProfileOf(sc);
    if (!p.ok()) return p.status();
    if (p->kind == Profile::kLocalhost) {
      // Read now so that a missing file fails before anything is created.
      Result<json> s = LocalhostSeccomp(p->path, {});
      if (!s.ok()) return s.status();
    }
  }
  return OkStatus();
}

Result<std::vector<std::string>> ContainerArgs(const cri::ContainerConfig& config,
                                               const image::ImageConfigInfo& image) {
  std::vector<std::string> args;
  if (!config.command().empty()) {
    args.assign(config.command().begin(), config.command().end());
    args.insert(args.end(), config.args().begin(), config.args().end());
  } else {
    args = image.entrypoint;
    if (!config.args().empty())
      args.insert(args.end(), config.args().begin(), config.args().end());
    else
      args.insert(args.end(), image.cmd.begin(), image.cmd.end());
  }
  if (args.empty()) {
    return InvalidArgument("container " + config.metadata().name() +
                           ": no command specified (neither config.command/args nor the "
                           "image's Entrypoint/Cmd)");
  }
  return args;
}

std::vector<std::string> ContainerEnv(const cri::ContainerConfig& config,
                                      const image::ImageConfigInfo& image,
                                      const std::string& hostname) {
  std::vector<std::string> env;
  bool image_has_path = std::any_of(image.env.begin(), image.env.end(),
                                    [](const std::string& e) { return EnvKey(e) == "PATH"; });
  if (!image_has_path) env.push_back(kDefaultPath);
  if (!hostname.empty()) SetEnv(env, "HOSTNAME=" + hostname);
  for (const std::string& e : image.env) SetEnv(env, e);
  for (const cri::KeyValue& kv : config.envs()) SetEnv(env, kv.key() + "=" + kv.value());
  return env;
}

uint64_t CurrentBoundingSet() {
  uint64_t mask = 0;
  for (int i = 0; i < 64; ++i)
    if (prctl(PR_CAPBSET_READ, i, 0, 0, 0) == 1) mask |= uint64_t{1} << i;
  return mask;
}

std::vector<std::string> AllCapabilities(int cap_last_cap, uint64_t available) {
  std::vector<std::string> out;
  for (int i = 0; i < kKnownCaps && i <= cap_last_cap; ++i)
    if (available & (uint64_t{1} << i)) out.push_back(std::string("CAP_") + kCapNames[i]);
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::vector<std::string>> ContainerCapabilities(const cri::Capability& caps,
                                                       int cap_last_cap, uint64_t available) {
  std::set<std::string> set(kDefaultCapabilities.begin(), kDefaultCapabilities.end());
  if (HasAll(caps.add_capabilities())) {
    auto all = AllCapabilities(cap_last_cap, available);
    set.insert(all.begin(), all.end());
  }
  if (HasAll(caps.drop_capabilities())) set.clear();
  for (const auto& list : {&caps.add_capabilities(), &caps.add_ambient_capabilities()}) {
    for (const std::string& c : *list) {
      if (IsAll(c)) continue;
      Result<std::string> n = NormalizeCap(c, cap_last_cap);
      if (!n.ok()) return n.status();
      set.insert(*n);
    }
  }
  for (const std::string& c : caps.drop_capabilities()) {
    if (IsAll(c)) continue;
    Result<std::string> n = NormalizeCap(c, cap_last_cap);
    if (!n.ok()) return n.status();
    set.erase(*n);
  }
  return std::vector<std::string>(set.begin(), set.end());
}

Result<json> SeccompSection(const cri::LinuxContainerSecurityContext& sc,
                            const std::vector<std::string>& bounding) {
  if (sc.privileged()) return json(nullptr);
  Result<Profile> p = SeccompProfileOf(sc);
  if (!p.ok()) return p.status();
  switch (p->kind) {
    case Profile::kUnconfined:
      return json(nullptr);
    case Profile::kRuntimeDefault:
      return SeccompToJson(native::RuntimeDefaultSeccompProfile(bounding));
    case Profile::kLocalhost:
      return LocalhostSeccomp(p->path, bounding);
  }
  return json(nullptr);
}

json OciResources(const cri::LinuxContainerResources& r) {
  json res = json::object();
  json cpu = json::object();
  if (r.cpu_shares()) cpu["shares"] = r.cpu_shares();
  if (r.cpu_quota()) cpu["quota"] = r.cpu_quota();
  if (r.cpu_period()) cpu["period"] = r.cpu_period();
  if (!r.cpuset_cpus().empty()) cpu["cpus"] = r.cpuset_cpus();
  if (!r.cpuset_mems().empty()) cpu["mems"] = r.cpuset_mems();
  if (!cpu.empty()) res["cpu"] = cpu;
  json mem = json::object();
  if (r.memory_limit_in_bytes()) mem["limit"] = r.memory_limit_in_bytes();
  if (r.memory_swap_limit_in_bytes()) mem["swap"] = r.memory_swap_limit_in_bytes();
  if (!mem.empty()) res["memory"] = mem;
  if (!r.hugepage_limits().empty()) {
    json h = json::array();
    for (const auto& l : r.hugepage_limits())
      h.push_back({{"pageSize", l.page_size()}, {"limit", l.limit()}});
    res["hugepageLimits"] = h;
  }
  if (!r.unified().empty()) {
    json u = json::object();
    for (const auto& [k, v] : r.unified()) u[k] = v;
    res["unified"] = u;
  }
  return res;
}

Result<BuiltSpec> BuildSpec(const SpecInputs& in) {
  const cri::ContainerConfig& config = *in.config;
  const PodView& pod = *in.pod;
  const image::ImageConfigInfo& image = *in.image;
  const auto& sc = config.linux().security_context();
  BERTH_RETURN_IF_ERROR(ValidateContainerConfig(config, pod));
  BuiltSpec out;

  // ---- process ----
  Result<std::vector<std::string>> args = ContainerArgs(config, image);
  if (!args.ok()) return args.status();
  bool host_uts = pod.host_network;
  std::string hostname = pod.hostname;
  json process = {
      {"terminal", config.tty()},
      {"args", *args},
      {"env", ContainerEnv(config, image, hostname)},
      {"cwd", !config.working_dir().empty() ? config.working_dir()
              : !image.working_dir.empty()  ? image.working_dir
                                            : "/"},
      {"user",
       {{"uid", in.user.uid}, {"gid", in.user.gid}, {"additionalGids", in.user.additional_gids}}},
      {"noNewPrivileges", sc.no_new_privs()},
      {"rlimits", json::array({{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}})},
  };
  std::vector<std::string> caps;
  if (sc.privileged()) {
    caps = AllCapabilities(in.cap_last_cap, in.available_caps);
  } else {
    Result<std::vector<std::string>> c =
        ContainerCapabilities(sc.capabilities(), in.cap_last_cap, in.available_caps);
    if (!c.ok()) return c.status();
    caps = *c;
  }
  std::vector<std::string> ambient;
  for (const std::string& a : sc.capabilities().add_ambient_capabilities()) {
    Result<std::string> n = NormalizeCap(a, in.cap_last_cap);
    if (!n.ok()) return n.status();
    if (Contains(caps, *n)) ambient.push_back(*n);
  }
  process["capabilities"] = {{"bounding", caps},
                             {"effective", caps},
                             {"permitted", caps},
                             {"inheritable", ambient},
                             {"ambient", ambient}};
  const auto& resources = config.linux().resources();
  if (resources.oom_score_adj()) process["oomScoreAdj"] = resources.oom_score_adj();
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"  // older kubelets send the string
  bool apparmor = sc.has_apparmor() || !sc.apparmor_profile().empty();
#pragma GCC diagnostic pop
  if (apparmor) out.warnings.push_back("apparmor profile ignored: berth does not apply AppArmor");
  if (sc.has_selinux_options())
    out.warnings.push_back("selinux options ignored: berth does not apply SELinux labels");

  // ---- mounts ----
  std::set<std::string> user_dests;
  for (const cri::Mount& m : config.mounts()) user_dests.insert(Clean(m.container_path()));
  json mounts = json::array();
  auto add_default = [&](json m) {
    if (!user_dests.count(m["destination"].get<std::string>())) mounts.push_back(std::move(m));
  };
  bool priv = sc.privileged();
  add_default({{"destination", "/proc"},
               {"type", "proc"},
               {"source", "proc"},
               {"options", {"nosuid", "noexec", "nodev"}}});
  add_default({{"destination", "/dev"},
               {"type", "tmpfs"},
               {"source", "tmpfs"},
               {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}});
  add_default(
      {{"destination", "/dev/pts"},
       {"type", "devpts"},
       {"source", "devpts"},
       {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}}});
  add_default({{"destination", "/dev/mqueue"},
               {"type", "mqueue"},
               {"source", "mqueue"},
               {"options", {"nosuid", "noexec", "nodev"}}});
  json sys_opts = {"nosuid", "noexec", "nodev"};
  sys_opts.push_back(priv ? "rw" : "ro");
  add_default(
      {{"destination", "/sys"}, {"type", "sysfs"}, {"source", "sysfs"}, {"options", sys_opts}});
  json cg_opts = {"nosuid", "noexec", "nodev", "relatime"};
  cg_opts.push_back(priv ? "rw" : "ro");
  add_default({{"destination", "/sys/fs/cgroup"},
               {"type", "cgroup"},
               {"source", "cgroup"},
               {"options", cg_opts}});
  if (!pod.shm_path.empty()) {
    add_default(BindMount("/dev/shm", pod.shm_path, false, {"nosuid", "nodev", "noexec"}));
  } else if (pod.host_ipc) {
    add_default(BindMount("/dev/shm", "/dev/shm", false));
  } else {
    add_default({{"destination", "/dev/shm"},
                 {"type", "tmpfs"},
                 {"source", "shm"},
                 {"options", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}}});
  }
  // The pod's files; read-only when the rootfs is, as containerd does.
  bool ro_files = sc.readonly_rootfs();
  if (!pod.hostname_path.empty())
    add_default(BindMount("/etc/hostname", pod.hostname_path, ro_files));
  if (!pod.hosts_path.empty()) add_default(BindMount("/etc/hosts", pod.hosts_path, ro_files));
  if (!pod.resolv_conf_path.empty())
    add_default(BindMount("/etc/resolv.conf", pod.resolv_conf_path, ro_files));

  std::string rootfs_propagation;
  for (int i = 0; i < config.mounts_size(); ++i) {
    const cri::Mount& m = config.mounts(i);
    if (!ImageVolumeRef(m).empty()) {
      // An image volume: always read-only and private, whatever the request says (the proto:
      // read-only by definition; the view's mount is berth's own, nothing to propagate).
      auto src = in.image_volume_sources.find(i);
      if (src == in.image_volume_sources.end())
        return Internal("image volume at " + m.container_path() + " was not set up");
      mounts.push_back(BindMount(Clean(m.container_path()), src->second, true));
      continue;
    }
    std::string prop = "rprivate";
    if (m.propagation() == cri::PROPAGATION_HOST_TO_CONTAINER) {
      prop = "rslave";
      if (rootfs_propagation != "rshared") rootfs_propagation = "rslave";
    } else if (m.propagation() == cri::PROPAGATION_BIDIRECTIONAL) {
      prop = "rshared";
      rootfs_propagation = "rshared";
    }
    mounts.push_back({{"destination", Clean(m.container_path())},
                      {"type", "bind"},
                      {"source", m.host_path()},
                      {"options", {"rbind", prop, m.readonly() ? "ro" : "rw"}}});
  }

  // ---- namespaces ----
  json ns = json::array();
  auto add_ns = [&](const char* type, bool host, const std::string& path) {
    if (host) return;
    json n = {{"type", type}};
    if (!path.empty()) n["path"] = path;
    ns.push_back(std::move(n));
  };
  const auto& nsopt = sc.namespace_options();
  std::string pid_path;
  bool host_pid = false;
  switch (nsopt.pid()) {
    case cri::NODE:
      host_pid = true;
      break;
    case cri::POD:
      host_pid = pod.host_pid;
      pid_path = pod.pid_ns_path;
      break;
    case cri::TARGET:
      pid_path = in.target_pid_ns_path;
      break;
    default:
      break;  // CONTAINER: a new one
  }
  add_ns("pid", host_pid, pid_path);
  add_ns("network", pod.host_network, pod.netns_path);
  add_ns("ipc", pod.host_ipc, pod.ipc_ns_path);
  add_ns("uts", host_uts, pod.uts_ns_path);
  add_ns("mount", false, "");

  // ---- linux ----
  json res = OciResources(resources);
  json devices = json::array();
  json dev_rules = json::array();
  if (priv) dev_rules.push_back({{"allow", true}, {"access", "rwm"}});
  for (const cri::Device& d : config.devices()) {
    struct stat st {};
    if (::stat(d.host_path().c_str(), &st) != 0) {
      return InvalidArgument("device " + d.host_path() + " does not exist on the node");
    }
    std::string type;
    if (S_ISCHR(st.st_mode))
      type = "c";
    else if (S_ISBLK(st.st_mode))
      type = "b";
    else
      return InvalidArgument("device " + d.host_path() + " is not a character or block device");
    std::string perms = d.permissions().empty() ? "rwm" : d.permissions();
    if (perms.find_first_not_of("rwm") != std::string::npos)
      return InvalidArgument("device " + d.host_path() + ": permissions \"" + perms +
                             "\" must be a combination of r, w and m");
    int64_t maj = major(st.st_rdev), min = minor(st.st_rdev);
    devices.push_back({{"path", d.container_path().empty() ? d.host_path() : d.container_path()},
                       {"type", type},
                       {"major", maj},
                       {"minor", min},
                       {"fileMode", st.st_mode & 07777},
                       {"uid", 0},
                       {"gid", 0}});
    if (!priv)
      dev_rules.push_back(
          {{"allow", true}, {"type", type}, {"major", maj}, {"minor", min}, {"access", perms}});
  }
  if (priv) {
    // All of the host's devices (the proto's privileged semantics), except paths the request
    // already maps (its own entries win).
    std::set<std::string> taken;
    for (const json& d : devices) taken.insert(d["path"].get<std::string>());
    for (const HostDevice& h : HostDevices(in.host_dev_dir)) {
      if (taken.count(h.path)) continue;
      devices.push_back({{"path", h.path},
                         {"type", std::string(1, h.type)},
                         {"major", h.major},
                         {"minor", h.minor},
                         {"fileMode", h.mode},
                         {"uid", h.uid},
                         {"gid", h.gid}});
    }
  }
  if (!dev_rules.empty()) res["devices"] = dev_rules;

  std::string parent = pod.cgroup_parent.empty() ? "/berth/" + pod.id : pod.cgroup_parent;
  json linux = {{"namespaces", ns},
                {"cgroupsPath", Clean(parent) + "/" + in.container_id},
                {"resources", res}};
  if (!devices.empty()) linux["devices"] = devices;
  json sysctl = json::object();
  for (const auto& [k, v] : pod.config.linux().sysctls()) sysctl[k] = v;
  if (!sysctl.empty()) linux["sysctl"] = sysctl;
  if (!priv) {
    auto paths = [](const google::protobuf::RepeatedPtrField<std::string>& req,
                    const std::vector<std::string>& def) {
      return req.empty() ? def : std::vector<std::string>(req.begin(), req.end());
    };
    linux["maskedPaths"] = paths(sc.masked_paths(), kDefaultMaskedPaths);
    linux["readonlyPaths"] = paths(sc.readonly_paths(), kDefaultReadonlyPaths);
  }
  Result<json> seccomp = SeccompSection(sc, caps);
  if (!seccomp.ok()) return seccomp.status();
  if (!seccomp->is_null()) linux["seccomp"] = *seccomp;
  if (!rootfs_propagation.empty()) linux["rootfsPropagation"] = rootfs_propagation;

  // ---- annotations ----
  json ann = json::object();
  for (const auto& [k, v] : config.annotations()) ann[k] = v;
  ann["io.kubernetes.cri.container-type"] = "container";
  ann["io.kubernetes.cri.container-name"] = config.metadata().name();
  ann["io.kubernetes.cri.sandbox-id"] = pod.id;
  ann["io.kubernetes.cri.sandbox-name"] = pod.config.metadata().name();
  ann["io.kubernetes.cri.sandbox-namespace"] = pod.config.metadata().namespace_();
  ann["io.kubernetes.cri.sandbox-uid"] = pod.config.metadata().uid();
  ann["io.kubernetes.cri.image-name"] = config.image().image();

  json spec = {{"ociVersion", "1.1.0"},
               {"process", process},
               {"root", {{"path", in.rootfs}, {"readonly", sc.readonly_rootfs()}}},
               {"mounts", mounts},
               {"linux", linux},
               {"annotations", ann}};
  if (!host_uts && !hostname.empty()) spec["hostname"] = hostname;
  out.spec = std::move(spec);
  return out;
}

}  // namespace berth::container
