#include "plugins/runtime/native/lib/seccomp.h"

#include <errno.h>
#include <seccomp.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>

namespace berth::native {
namespace {

struct CtxDeleter {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};
using Ctx = std::unique_ptr<void, CtxDeleter>;

Result<uint32_t> Action(const std::string& name, std::optional<unsigned> errno_ret,
                        const std::string& where) {
  if (name == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
  if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL_THREAD;
  if (name == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
  if (name == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
  if (name == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
  if (name == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(errno_ret.value_or(EPERM));
  if (name == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(errno_ret.value_or(EPERM));
  if (name == "SCMP_ACT_NOTIFY")
    return InvalidArgument(where + ": SCMP_ACT_NOTIFY is not supported (no listenerPath support)");
  return InvalidArgument(where + ": unknown seccomp action " + name);
}

Result<scmp_compare> Op(const std::string& name, const std::string& where) {
  static const std::map<std::string, scmp_compare> kOps = {
      {"SCMP_CMP_NE", SCMP_CMP_NE},
      {"SCMP_CMP_LT", SCMP_CMP_LT},
      {"SCMP_CMP_LE", SCMP_CMP_LE},
      {"SCMP_CMP_EQ", SCMP_CMP_EQ},
      {"SCMP_CMP_GE", SCMP_CMP_GE},
      {"SCMP_CMP_GT", SCMP_CMP_GT},
      {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ}};
  auto it = kOps.find(name);
  if (it == kOps.end()) return InvalidArgument(where + ": unknown seccomp operator " + name);
  return it->second;
}

Result<uint32_t> Arch(const std::string& name) {
  std::string n = name;
  if (n.rfind("SCMP_ARCH_", 0) == 0) n = n.substr(10);
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::tolower(c); });
  uint32_t arch = seccomp_arch_resolve_name(n.c_str());
  if (arch == 0) return InvalidArgument("linux.seccomp.architectures: unknown " + name);
  return arch;
}

Result<Ctx> Build(const Seccomp& s) {
  Result<uint32_t> def =
      Action(s.default_action, s.default_errno_ret, "linux.seccomp.defaultAction");
  if (!def.ok()) return def.status();
  Ctx ctx(seccomp_init(*def));
  if (!ctx) return Internal("seccomp_init failed");
  // no_new_privs is the process spec's decision, applied separately.
  seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_NNP, 0);
  for (const std::string& a : s.architectures) {
    Result<uint32_t> arch = Arch(a);
    if (!arch.ok()) return arch.status();
    int rc = seccomp_arch_add(ctx.get(), *arch);
    if (rc != 0 && rc != -EEXIST) return ErrnoStatus(-rc, "seccomp add arch " + a);
  }
  for (const std::string& f : s.flags) {
    if (f == "SECCOMP_FILTER_FLAG_LOG") {
      seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_LOG, 1);
    } else if (f == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") {
      seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_SSB, 1);
    } else if (f != "SECCOMP_FILTER_FLAG_TSYNC") {
      return InvalidArgument("linux.seccomp.flags: unknown " + f);
    }
  }
  for (size_t i = 0; i < s.syscalls.size(); ++i) {
    const SeccompSyscall& sc = s.syscalls[i];
    const std::string where = "linux.seccomp.syscalls[" + std::to_string(i) + "]";
    Result<uint32_t> act = Action(sc.action, sc.errno_ret, where + ".action");
    if (!act.ok()) return act.status();
    if (*act == *def) continue;  // libseccomp rejects rules equal to the default; a no-op anyway
    std::vector<scmp_arg_cmp> cmps;
    std::set<unsigned> indexes;
    for (const SeccompArg& a : sc.args) {
      Result<scmp_compare> op = Op(a.op, where + ".args");
      if (!op.ok()) return op.status();
      cmps.push_back(scmp_arg_cmp{a.index, *op, a.value, a.value_two});
      indexes.insert(a.index);
    }
    for (const std::string& name : sc.names) {
      int nr = seccomp_syscall_resolve_name(name.c_str());
      if (nr == __NR_SCMP_ERROR) continue;  // not a syscall on this architecture
      int rc;
      if (indexes.size() == cmps.size()) {
        // Distinct argument indexes: all comparisons must hold (AND), one rule.
        rc = seccomp_rule_add_array(ctx.get(), *act, nr, cmps.size(), cmps.data());
      } else {
        // Repeated indexes cannot be ANDed by libseccomp; like runc, each comparison becomes its
        // own rule (OR).
        rc = 0;
        for (const scmp_arg_cmp& c : cmps)
          if ((rc = seccomp_rule_add_array(ctx.get(), *act, nr, 1, &c)) != 0) break;
      }
      if (rc != 0) return ErrnoStatus(-rc, where + ": add rule for " + name).Wrap("seccomp");
    }
  }
  return ctx;
}

}  // namespace

Status ValidateSeccomp(const Seccomp& seccomp) {
  Result<Ctx> ctx = Build(seccomp);
  return ctx.ok() ? OkStatus() : ctx.status();
}

Status LoadSeccomp(const Seccomp& seccomp) {
  Result<Ctx> ctx = Build(seccomp);
  if (!ctx.ok()) return ctx.status();
  int rc = seccomp_load(ctx->get());
  if (rc != 0) return ErrnoStatus(-rc, "seccomp_load");
  return OkStatus();
}

}  // namespace berth::native
