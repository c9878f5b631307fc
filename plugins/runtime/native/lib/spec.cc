#include "plugins/runtime/native/lib/spec.h"

#include <sys/capability.h>
#include <sys/resource.h>

#include <limits>
#include <nlohmann/json.hpp>

#include "common/fs.h"
#include "common/json_reader.h"

namespace berth::native {
namespace {

using nlohmann::json;

// Reads typed fields of one JSON object, naming the full path in errors. Unknown keys are
// ignored on purpose (see spec.h). The first error wins.
class Fields {
 public:
  Fields(const json& obj, std::string path, Status* err)
      : obj_(obj), path_(std::move(path)), err_(err) {
    if (!obj_.is_object()) Fail("", "an object");
  }
  std::string Path(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }
  const json* Find(std::string_view key) const {
    if (!obj_.is_object()) return nullptr;
    auto it = obj_.find(key);
    return it == obj_.end() || it->is_null() ? nullptr : &*it;
  }
  void Fail(std::string_view key, std::string_view what) {
    if (err_->ok())
      *err_ =
          InvalidArgument((key.empty() ? path_ : Path(key)) + ": expected " + std::string(what));
  }
  void Str(std::string_view key, std::string& out) {
    if (const json* v = Find(key))
      v->is_string() ? void(out = v->get<std::string>()) : Fail(key, "a string");
  }
  void Bool(std::string_view key, bool& out) {
    if (const json* v = Find(key))
      v->is_boolean() ? void(out = v->get<bool>()) : Fail(key, "a boolean");
  }
  template <typename T>
  void Int(std::string_view key, T& out) {
    const json* v = Find(key);
    if (!v) return;
    if (v->is_number_unsigned()) {
      uint64_t u = v->get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<T>::max()))
        return Fail(key, "a smaller number");
      out = static_cast<T>(u);
    } else if (v->is_number_integer()) {
      int64_t i = v->get<int64_t>();
      if (i < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
          (i > 0 &&
           static_cast<uint64_t>(i) > static_cast<uint64_t>(std::numeric_limits<T>::max())))
        return Fail(key, "a number in range");
      out = static_cast<T>(i);
    } else {
      Fail(key, "an integer");
    }
  }
  template <typename T>
  void Int(std::string_view key, std::optional<T>& out) {
    if (!Find(key)) return;
    T v{};
    Int(key, v);
    out = v;
  }
  void Strings(std::string_view key, std::vector<std::string>& out) {
    const json* v = Find(key);
    if (!v) return;
    if (!v->is_array()) return Fail(key, "an array of strings");
    out.clear();
    for (const json& e : *v) {
      if (!e.is_string()) return Fail(key, "an array of strings");
      out.push_back(e.get<std::string>());
    }
  }
  // Calls fn(element, "key[i]") for each element of an array field.
  template <typename Fn>
  void Each(std::string_view key, Fn fn) {
    const json* v = Find(key);
    if (!v) return;
    if (!v->is_array()) return Fail(key, "an array");
    for (size_t i = 0; i < v->size() && err_->ok(); ++i)
      fn((*v)[i], Path(key) + "[" + std::to_string(i) + "]");
  }
  Status* err() { return err_; }

 private:
  const json& obj_;
  std::string path_;
  Status* err_;
};

void ParseCapList(Fields& f, std::string_view key, std::vector<std::string>& out) {
  f.Strings(key, out);
  for (const std::string& name : out) {
    cap_value_t v;
    if (cap_from_name(name.c_str(), &v) != 0) {
      f.Fail(key, "known capability names, got \"" + name + "\"");
      return;
    }
  }
}

int RlimitFromName(const std::string& name) {
  static const std::map<std::string, int> kNames = {
      {"RLIMIT_AS", RLIMIT_AS},
      {"RLIMIT_CORE", RLIMIT_CORE},
      {"RLIMIT_CPU", RLIMIT_CPU},
      {"RLIMIT_DATA", RLIMIT_DATA},
      {"RLIMIT_FSIZE", RLIMIT_FSIZE},
      {"RLIMIT_LOCKS", RLIMIT_LOCKS},
      {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
      {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
      {"RLIMIT_NICE", RLIMIT_NICE},
      {"RLIMIT_NOFILE", RLIMIT_NOFILE},
      {"RLIMIT_NPROC", RLIMIT_NPROC},
      {"RLIMIT_RSS", RLIMIT_RSS},
      {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
      {"RLIMIT_RTTIME", RLIMIT_RTTIME},
      {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
      {"RLIMIT_STACK", RLIMIT_STACK},
  };
  auto it = kNames.find(name);
  return it == kNames.end() ? -1 : it->second;
}

void ParseProcessInto(const json& doc, const std::string& path, ProcessSpec& p, Status* err) {
  Fields f(doc, path, err);
  f.Bool("terminal", p.terminal);
  if (const json* u = f.Find("user")) {
    Fields uf(*u, f.Path("user"), err);
    uf.Int("uid", p.user.uid);
    uf.Int("gid", p.user.gid);
    std::optional<uint32_t> umask;
    uf.Int("umask", umask);
    if (umask && *umask > 0777) uf.Fail("umask", "a mode <= 0777");
    if (umask) p.user.umask = *umask;
    uf.Each("additionalGids", [&](const json& g, const std::string& gp) {
      if (!g.is_number_integer() || g.get<int64_t>() < 0 ||
          g.get<uint64_t>() > std::numeric_limits<gid_t>::max())
        return void(*err = InvalidArgument(gp + ": expected a gid"));
      p.user.additional_gids.push_back(g.get<gid_t>());
    });
  }
  f.Strings("args", p.args);
  f.Strings("env", p.env);
  f.Str("cwd", p.cwd);
  if (err->ok() && p.args.empty()) f.Fail("args", "a non-empty array");
  if (err->ok() && (p.cwd.empty() || p.cwd[0] != '/')) f.Fail("cwd", "an absolute path");
  for (const std::string& e : p.env)
    if (err->ok() && (e.find('=') == std::string::npos || e[0] == '='))
      f.Fail("env", "NAME=value entries, got \"" + e + "\"");
  if (const json* c = f.Find("capabilities")) {
    Fields cf(*c, f.Path("capabilities"), err);
    Capabilities caps;
    ParseCapList(cf, "bounding", caps.bounding);
    ParseCapList(cf, "effective", caps.effective);
    ParseCapList(cf, "inheritable", caps.inheritable);
    ParseCapList(cf, "permitted", caps.permitted);
    ParseCapList(cf, "ambient", caps.ambient);
    p.capabilities = std::move(caps);
  }
  f.Each("rlimits", [&](const json& r, const std::string& rp) {
    Fields rf(r, rp, err);
    std::string type;
    Rlimit rl;
    rf.Str("type", type);
    rf.Int("soft", rl.soft);
    rf.Int("hard", rl.hard);
    rl.resource = RlimitFromName(type);
    if (err->ok() && rl.resource < 0) rf.Fail("type", "an RLIMIT_* name, got \"" + type + "\"");
    if (err->ok() && rl.soft > rl.hard) rf.Fail("soft", "soft <= hard");
    p.rlimits.push_back(rl);
  });
  f.Bool("noNewPrivileges", p.no_new_privileges);
  f.Int("oomScoreAdj", p.oom_score_adj);
  if (p.oom_score_adj && (*p.oom_score_adj < -1000 || *p.oom_score_adj > 1000))
    f.Fail("oomScoreAdj", "a value in [-1000, 1000]");
}

std::optional<NamespaceType> NamespaceFromName(const std::string& s) {
  static const std::map<std::string, NamespaceType> kNames = {
      {"pid", NamespaceType::kPid},       {"network", NamespaceType::kNetwork},
      {"mount", NamespaceType::kMount},   {"ipc", NamespaceType::kIpc},
      {"uts", NamespaceType::kUts},       {"user", NamespaceType::kUser},
      {"cgroup", NamespaceType::kCgroup}, {"time", NamespaceType::kTime}};
  auto it = kNames.find(s);
  if (it == kNames.end()) return std::nullopt;
  return it->second;
}

void ParseMappings(Fields& f, std::string_view key, std::vector<IdMapping>& out, Status* err) {
  f.Each(key, [&](const json& m, const std::string& mp) {
    Fields mf(m, mp, err);
    IdMapping im;
    mf.Int("containerID", im.container_id);
    mf.Int("hostID", im.host_id);
    mf.Int("size", im.size);
    if (err->ok() && im.size == 0) mf.Fail("size", "a positive size");
    out.push_back(im);
  });
}

void ParseResourcesInto(const json& doc, const std::string& path, Resources& r, Status* err) {
  Fields f(doc, path, err);
  if (const json* m = f.Find("memory")) {
    Fields mf(*m, f.Path("memory"), err);
    mf.Int("limit", r.memory.limit);
    mf.Int("reservation", r.memory.reservation);
    mf.Int("swap", r.memory.swap);
  }
  if (const json* c = f.Find("cpu")) {
    Fields cf(*c, f.Path("cpu"), err);
    cf.Int("shares", r.cpu.shares);
    cf.Int("quota", r.cpu.quota);
    cf.Int("period", r.cpu.period);
    cf.Str("cpus", r.cpu.cpus);
    cf.Str("mems", r.cpu.mems);
    auto bad_set = [](const std::string& s) {
      return s.find_first_not_of("0123456789,-") != std::string::npos;
    };
    if (bad_set(r.cpu.cpus)) cf.Fail("cpus", "a cpu list like \"0-2,4\"");
    if (bad_set(r.cpu.mems)) cf.Fail("mems", "a node list like \"0-1\"");
  }
  if (const json* p = f.Find("pids")) {
    Fields pf(*p, f.Path("pids"), err);
    pf.Int("limit", r.pids_limit);
  }
  f.Each("hugepageLimits", [&](const json& h, const std::string& hp) {
    Fields hf(h, hp, err);
    HugepageLimit hl;
    hf.Str("pageSize", hl.page_size);
    hf.Int("limit", hl.limit);
    if (err->ok() && (hl.page_size.empty() ||
                      hl.page_size.find_first_not_of("0123456789KMGB") != std::string::npos))
      hf.Fail("pageSize", "a size like \"2MB\"");
    r.hugepage_limits.push_back(hl);
  });
  if (const json* b = f.Find("blockIO")) {
    Fields bf(*b, f.Path("blockIO"), err);
    bf.Int("weight", r.blkio_weight);
    if (r.blkio_weight && (*r.blkio_weight < 10 || *r.blkio_weight > 1000))
      bf.Fail("weight", "a weight in [10, 1000]");
  }
  f.Each("devices", [&](const json& d, const std::string& dp) {
    Fields df(d, dp, err);
    DeviceRule rule;
    std::string type = "a";
    df.Bool("allow", rule.allow);
    df.Str("type", type);
    df.Int("major", rule.major);
    df.Int("minor", rule.minor);
    df.Str("access", rule.access);
    if (type.size() != 1 || std::string_view("acb").find(type[0]) == std::string_view::npos)
      df.Fail("type", "one of a, c, b");
    else
      rule.type = type[0];
    if (rule.access.empty() || rule.access.find_first_not_of("rwm") != std::string::npos)
      df.Fail("access", "a combination of r, w, m");
    r.devices.push_back(rule);
  });
}

void ParseSeccompInto(const json& doc, const std::string& path, Seccomp& s, Status* err) {
  Fields f(doc, path, err);
  f.Str("defaultAction", s.default_action);
  f.Int("defaultErrnoRet", s.default_errno_ret);
  f.Strings("architectures", s.architectures);
  f.Strings("flags", s.flags);
  if (err->ok() && s.default_action.rfind("SCMP_ACT_", 0) != 0)
    f.Fail("defaultAction", "an SCMP_ACT_* action");
  f.Each("syscalls", [&](const json& sc, const std::string& sp) {
    Fields sf(sc, sp, err);
    SeccompSyscall call;
    sf.Strings("names", call.names);
    sf.Str("action", call.action);
    sf.Int("errnoRet", call.errno_ret);
    if (err->ok() && call.names.empty()) sf.Fail("names", "a non-empty array");
    if (err->ok() && call.action.rfind("SCMP_ACT_", 0) != 0)
      sf.Fail("action", "an SCMP_ACT_* action");
    sf.Each("args", [&](const json& a, const std::string& ap) {
      Fields af(a, ap, err);
      SeccompArg arg;
      af.Int("index", arg.index);
      af.Int("value", arg.value);
      af.Int("valueTwo", arg.value_two);
      af.Str("op", arg.op);
      if (err->ok() && arg.index > 5) af.Fail("index", "an argument index in [0, 5]");
      if (err->ok() && arg.op.rfind("SCMP_CMP_", 0) != 0) af.Fail("op", "an SCMP_CMP_* operator");
      call.args.push_back(arg);
    });
    s.syscalls.push_back(std::move(call));
  });
}

bool CleanAbsolute(const std::string& p) { return !p.empty() && p[0] == '/'; }

}  // namespace

const Namespace* LinuxSpec::FindNamespace(NamespaceType type) const {
  for (const Namespace& ns : namespaces)
    if (ns.type == type) return &ns;
  return nullptr;
}

std::string NamespaceTypeName(NamespaceType type) {
  switch (type) {
    case NamespaceType::kPid:
      return "pid";
    case NamespaceType::kNetwork:
      return "network";
    case NamespaceType::kMount:
      return "mount";
    case NamespaceType::kIpc:
      return "ipc";
    case NamespaceType::kUts:
      return "uts";
    case NamespaceType::kUser:
      return "user";
    case NamespaceType::kCgroup:
      return "cgroup";
    case NamespaceType::kTime:
      return "time";
  }
  return "?";
}

Result<ProcessSpec> ParseProcess(const json& doc) {
  Status err;
  ProcessSpec p;
  ParseProcessInto(doc, "process", p, &err);
  if (!err.ok()) return err;
  return p;
}

Result<Seccomp> ParseSeccomp(const json& doc) {
  Status err;
  Seccomp s;
  ParseSeccompInto(doc, "linux.seccomp", s, &err);
  if (!err.ok()) return err;
  return s;
}

Result<Resources> ParseResources(const json& doc) {
  Status err;
  Resources r;
  ParseResourcesInto(doc, "linux.resources", r, &err);
  if (!err.ok()) return err;
  return r;
}

Result<OciSpec> ParseSpec(const json& doc) {
  Status err;
  OciSpec spec;
  Fields f(doc, "", &err);
  f.Str("ociVersion", spec.oci_version);
  if (!f.Find("process")) return InvalidArgument("process: required");
  ParseProcessInto(*f.Find("process"), "process", spec.process, &err);
  if (const json* root = f.Find("root")) {
    Fields rf(*root, "root", &err);
    rf.Str("path", spec.root_path);
    rf.Bool("readonly", spec.root_readonly);
  }
  if (err.ok() && spec.root_path.empty()) return InvalidArgument("root.path: required");
  f.Str("hostname", spec.hostname);
  if (spec.hostname.size() > 64 || spec.hostname.find_first_of("\n\r/ \0") != std::string::npos)
    f.Fail("hostname", "a valid host name");
  f.Each("mounts", [&](const json& m, const std::string& mp) {
    Fields mf(m, mp, &err);
    Mount mount;
    mf.Str("destination", mount.destination);
    mf.Str("type", mount.type);
    mf.Str("source", mount.source);
    mf.Strings("options", mount.options);
    if (err.ok() && !CleanAbsolute(mount.destination)) mf.Fail("destination", "an absolute path");
    spec.mounts.push_back(std::move(mount));
  });
  if (const json* l = f.Find("linux")) {
    Fields lf(*l, "linux", &err);
    LinuxSpec& linux = spec.linux;
    lf.Each("namespaces", [&](const json& n, const std::string& np) {
      Fields nf(n, np, &err);
      std::string type;
      Namespace ns{NamespaceType::kPid, ""};
      nf.Str("type", type);
      nf.Str("path", ns.path);
      auto t = NamespaceFromName(type);
      if (!t)
        return nf.Fail("type",
                       "a namespace type (pid, network, mount, ipc, uts, user, cgroup, time)");
      ns.type = *t;
      if (linux.FindNamespace(ns.type)) return nf.Fail("type", "each namespace type at most once");
      if (!ns.path.empty() && ns.path[0] != '/') return nf.Fail("path", "an absolute path");
      linux.namespaces.push_back(ns);
    });
    ParseMappings(lf, "uidMappings", linux.uid_mappings, &err);
    ParseMappings(lf, "gidMappings", linux.gid_mappings, &err);
    lf.Each("devices", [&](const json& d, const std::string& dp) {
      Fields df(d, dp, &err);
      Device dev;
      std::string type;
      std::optional<uint32_t> mode;
      df.Str("path", dev.path);
      df.Str("type", type);
      df.Int("major", dev.major);
      df.Int("minor", dev.minor);
      df.Int("fileMode", mode);
      df.Int("uid", dev.uid);
      df.Int("gid", dev.gid);
      if (mode) dev.file_mode = *mode;
      if (type == "u") type = "c";
      if (type.size() != 1 || std::string_view("cbp").find(type[0]) == std::string_view::npos)
        return df.Fail("type", "one of c, b, u, p");
      dev.type = type[0];
      if (!CleanAbsolute(dev.path) || dev.path.rfind("/dev/", 0) != 0)
        return df.Fail("path", "an absolute path under /dev");
      linux.devices.push_back(dev);
    });
    lf.Str("cgroupsPath", linux.cgroups_path);
    if (linux.cgroups_path.find("..") != std::string::npos)
      lf.Fail("cgroupsPath", "a path without ..");
    if (const json* r = lf.Find("resources"))
      ParseResourcesInto(*r, "linux.resources", linux.resources, &err);
    if (const json* s = lf.Find("sysctl")) {
      if (!s->is_object()) {
        lf.Fail("sysctl", "an object of strings");
      } else {
        for (auto it = s->begin(); it != s->end(); ++it) {
          if (!it.value().is_string()) {
            lf.Fail("sysctl", "string values (key " + it.key() + ")");
            break;
          }
          linux.sysctl[it.key()] = it.value().get<std::string>();
        }
      }
    }
    if (const json* s = lf.Find("seccomp")) {
      linux.seccomp.emplace();
      ParseSeccompInto(*s, "linux.seccomp", *linux.seccomp, &err);
    }
    lf.Strings("maskedPaths", linux.masked_paths);
    lf.Strings("readonlyPaths", linux.readonly_paths);
    for (const auto* list : {&linux.masked_paths, &linux.readonly_paths})
      for (const std::string& p : *list)
        if (err.ok() && !CleanAbsolute(p))
          lf.Fail(list == &linux.masked_paths ? "maskedPaths" : "readonlyPaths", "absolute paths");
    std::string prop;
    lf.Str("rootfsPropagation", prop);
    static const std::map<std::string, Propagation> kProp = {
        {"", Propagation::kDefault},
        {"private", Propagation::kPrivate},
        {"rprivate", Propagation::kPrivate},
        {"slave", Propagation::kSlave},
        {"rslave", Propagation::kSlave},
        {"shared", Propagation::kShared},
        {"rshared", Propagation::kShared},
        {"unbindable", Propagation::kUnbindable},
        {"runbindable", Propagation::kUnbindable}};
    auto pit = kProp.find(prop);
    if (pit == kProp.end())
      lf.Fail("rootfsPropagation", "private, slave, shared or unbindable");
    else
      linux.rootfs_propagation = pit->second;
    if (err.ok() && !linux.uid_mappings.empty() != !linux.gid_mappings.empty())
      lf.Fail("gidMappings", "uidMappings and gidMappings together");
    const Namespace* userns = linux.FindNamespace(NamespaceType::kUser);
    if (err.ok() && !linux.uid_mappings.empty() && (!userns || !userns->path.empty()))
      lf.Fail("uidMappings", "a new user namespace when mappings are given");
    if (err.ok() && userns && userns->path.empty() && linux.uid_mappings.empty())
      lf.Fail("uidMappings", "mappings for a new user namespace");
  }
  if (!err.ok()) return err;
  return spec;
}

Result<OciSpec> LoadSpec(const std::string& bundle_dir) {
  Result<std::string> text = ReadFile(bundle_dir + "/config.json");
  if (!text.ok()) return text.status().Wrap("load OCI spec");
  Result<json> doc = ParseJson(*text, bundle_dir + "/config.json");
  if (!doc.ok()) return doc.status();
  Result<OciSpec> spec = ParseSpec(*doc);
  if (!spec.ok()) return spec.status().Wrap(bundle_dir + "/config.json");
  return spec;
}

}  // namespace berth::native
