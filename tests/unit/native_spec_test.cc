// Unit tests of berth_native_runtime's pure parts: spec parsing, sysctl validation, cgroup
// conversions, the RuntimeDefault seccomp profile, mount options.

#include <sys/mount.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "plugins/runtime/native/lib/cgroup.h"
#include "plugins/runtime/native/lib/rootfs.h"
#include "plugins/runtime/native/lib/seccomp.h"
#include "plugins/runtime/native/lib/spec.h"
#include "plugins/runtime/native/lib/sysctl.h"

namespace berth::native {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;

Json Minimal() {
  return {{"process", {{"args", {"sh"}}, {"cwd", "/"}}},
          {"root", {{"path", "rootfs"}}},
          {"linux", {{"namespaces", {{{"type", "mount"}}, {{"type", "ipc"}}}}}}};
}

Status ParseError(const Json& j) {
  Result<OciSpec> r = ParseSpec(j);
  return r.ok() ? OkStatus() : r.status();
}

TEST(NativeSpecTest, ParsesFullSpec) {
  Json j = Minimal();
  j["process"]["user"] = {{"uid", 1000}, {"gid", 100}, {"additionalGids", {5, 6}}, {"umask", 18}};
  j["process"]["capabilities"] = {{"bounding", {"CAP_KILL"}}, {"ambient", {"CAP_KILL"}}};
  j["process"]["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"soft", 10}, {"hard", 20}}};
  j["process"]["oomScoreAdj"] = 100;
  j["linux"]["resources"] = {{"memory", {{"limit", 1 << 20}, {"swap", -1}}},
                             {"cpu", {{"shares", 1024}, {"quota", 5000}, {"cpus", "0-1"}}},
                             {"pids", {{"limit", 5}}},
                             {"devices", {{{"allow", false}, {"access", "rwm"}}}}};
  j["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_ERRNO"},
                           {"syscalls",
                            {{{"names", {"read"}},
                              {"action", "SCMP_ACT_ALLOW"},
                              {"args", {{{"index", 0}, {"value", 1}, {"op", "SCMP_CMP_EQ"}}}}}}}};
  j["linux"]["rootfsPropagation"] = "rslave";
  Result<OciSpec> s = ParseSpec(j);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->process.user.uid, 1000u);
  EXPECT_EQ(s->process.user.additional_gids, (std::vector<gid_t>{5, 6}));
  EXPECT_EQ(*s->process.user.umask, 18u);
  EXPECT_EQ(s->process.capabilities->ambient, std::vector<std::string>{"CAP_KILL"});
  EXPECT_EQ(s->process.rlimits.at(0).hard, 20u);
  EXPECT_EQ(*s->linux.resources.memory.swap, -1);
  EXPECT_EQ(*s->linux.resources.cpu.shares, 1024u);
  EXPECT_EQ(s->linux.resources.devices.at(0).type, 'a');
  EXPECT_EQ(s->linux.seccomp->syscalls.at(0).args.at(0).op, "SCMP_CMP_EQ");
  EXPECT_EQ(s->linux.rootfs_propagation, Propagation::kSlave);
  EXPECT_TRUE(ValidateSeccomp(*s->linux.seccomp).ok());
}

TEST(NativeSpecTest, ErrorsNameTheField) {
  struct Case {
    std::function<void(Json&)> mutate;
    std::string field;
  } cases[] = {
      {[](Json& j) { j.erase("process"); }, "process"},
      {[](Json& j) { j["process"]["args"] = Json::array(); }, "process.args"},
      {[](Json& j) { j["process"]["args"] = "sh"; }, "process.args"},
      {[](Json& j) { j["process"]["cwd"] = "relative"; }, "process.cwd"},
      {[](Json& j) { j["process"]["env"] = {"NOEQUALS"}; }, "process.env"},
      {[](Json& j) {
         j["process"]["user"] = {{"uid", -1}};
       },
       "process.user.uid"},
      {[](Json& j) {
         j["process"]["user"] = {{"uid", "0"}};
       },
       "process.user.uid"},
      {[](Json& j) {
         j["process"]["capabilities"] = {{"bounding", {"CAP_NOPE"}}};
       },
       "process.capabilities.bounding"},
      {[](Json& j) {
         j["process"]["rlimits"] = {{{"type", "RLIMIT_X"}}};
       },
       "process.rlimits[0].type"},
      {[](Json& j) { j["process"]["oomScoreAdj"] = 5000; }, "process.oomScoreAdj"},
      {[](Json& j) { j["root"]["path"] = ""; }, "root.path"},
      {[](Json& j) {
         j["mounts"] = {{{"destination", "rel"}}};
       },
       "mounts[0].destination"},
      {[](Json& j) {
         j["linux"]["namespaces"].push_back({{"type", "bogus"}});
       },
       "linux.namespaces[2].type"},
      {[](Json& j) {
         j["linux"]["namespaces"].push_back({{"type", "ipc"}});
       },
       "linux.namespaces[2].type"},
      {[](Json& j) {
         j["linux"]["namespaces"].push_back({{"type", "user"}});
       },
       "linux.uidMappings"},
      {[](Json& j) {
         j["linux"]["devices"] = {{{"path", "/etc/x"}, {"type", "c"}}};
       },
       "linux.devices[0].path"},
      {[](Json& j) {
         j["linux"]["resources"] = {{"cpu", {{"cpus", "0;rm"}}}};
       },
       "linux.resources.cpu.cpus"},
      {[](Json& j) {
         j["linux"]["resources"] = {{"devices", {{{"type", "x"}}}}};
       },
       "linux.resources.devices[0].type"},
      {[](Json& j) {
         j["linux"]["seccomp"] = {{"defaultAction", "ALLOW"}};
       },
       "linux.seccomp.defaultAction"},
      {[](Json& j) {
         j["linux"]["seccomp"] = {{"syscalls",
                                   {{{"names", {"x"}},
                                     {"action", "SCMP_ACT_ALLOW"},
                                     {"args", {{{"index", 9}, {"op", "SCMP_CMP_EQ"}}}}}}}};
       },
       "linux.seccomp.syscalls[0].args[0].index"},
      {[](Json& j) {
         j["linux"]["sysctl"] = {{"kernel.shmmax", 5}};
       },
       "linux.sysctl"},
      {[](Json& j) { j["linux"]["rootfsPropagation"] = "sideways"; }, "linux.rootfsPropagation"},
  };
  for (const Case& c : cases) {
    Json j = Minimal();
    c.mutate(j);
    Status s = ParseError(j);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.field << " " << s.ToString();
    EXPECT_THAT(s.message(), HasSubstr(c.field)) << s.ToString();
  }
}

TEST(NativeSpecTest, SeccompValidationRejectsUnknownNames) {
  Seccomp s;
  s.syscalls.push_back({{"read"}, "SCMP_ACT_BOGUS", std::nullopt, {}});
  EXPECT_EQ(ValidateSeccomp(s).code(), StatusCode::kInvalidArgument);
  s.syscalls[0].action = "SCMP_ACT_ERRNO";
  s.syscalls[0].args.push_back({0, 1, 0, "SCMP_CMP_WHATEVER"});
  EXPECT_EQ(ValidateSeccomp(s).code(), StatusCode::kInvalidArgument);
  s.syscalls[0].args[0].op = "SCMP_CMP_EQ";
  s.architectures = {"SCMP_ARCH_NOPE"};
  EXPECT_EQ(ValidateSeccomp(s).code(), StatusCode::kInvalidArgument);
  s.architectures = {"SCMP_ARCH_X86_64"};
  s.syscalls[0].names.push_back("not_a_syscall_anywhere");  // skipped, like runc
  EXPECT_TRUE(ValidateSeccomp(s).ok());
}

TEST(NativeSysctlTest, AllowListFollowsNamespaces) {
  LinuxSpec with_all;
  with_all.namespaces = {{NamespaceType::kIpc, ""},
                         {NamespaceType::kNetwork, "/run/netns/x"},
                         {NamespaceType::kUts, ""}};
  LinuxSpec none;
  for (const char* ok :
       {"kernel.shmmax", "kernel.msgmax", "kernel.sem", "fs.mqueue.msg_max", "net.ipv4.ip_forward",
        "net/ipv4/conf/all/forwarding", "kernel.domainname"}) {
    EXPECT_TRUE(ValidateSysctls({{ok, "1"}}, with_all).ok()) << ok;
    EXPECT_EQ(ValidateSysctls({{ok, "1"}}, none).code(), StatusCode::kInvalidArgument) << ok;
  }
  for (const char* bad : {"kernel.panic", "vm.overcommit_memory", "fs.file-max", "kernel.modprobe",
                          "net..x", "net.ipv4/../../kernel/x", "", ".net.x"})
    EXPECT_EQ(ValidateSysctls({{bad, "1"}}, with_all).code(), StatusCode::kInvalidArgument) << bad;
  EXPECT_EQ(ValidateSysctls({{"kernel.shmmax", "1\nkernel.core_pattern=|/x"}}, with_all).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateSysctls({{"kernel.shmmax", std::string("1\0x", 3)}}, with_all).code(),
            StatusCode::kInvalidArgument);
}

TEST(NativeCgroupMathTest, SharesToWeightLikeRunc) {
  EXPECT_EQ(CpuSharesToWeight(0), 0u);  // unset stays unset
  EXPECT_EQ(CpuSharesToWeight(2), 1u);
  EXPECT_EQ(CpuSharesToWeight(1024), 39u);
  EXPECT_EQ(CpuSharesToWeight(262144), 10000u);
  EXPECT_EQ(CpuSharesToWeight(1), 1u);  // clamped
  EXPECT_EQ(CpuSharesToWeight(1 << 30), 10000u);
  EXPECT_EQ(BlkioWeightToIoWeight(10), 1u);
  EXPECT_EQ(BlkioWeightToIoWeight(1000), 10000u);
}

TEST(NativeSeccompTest, RuntimeDefaultProfileSanity) {
  Seccomp d = RuntimeDefaultSeccompProfile({});
  EXPECT_EQ(d.default_action, "SCMP_ACT_ERRNO");
  EXPECT_TRUE(ValidateSeccomp(d).ok()) << ValidateSeccomp(d).ToString();
  auto allowed = [](const Seccomp& s, const std::string& name, bool unconditional) {
    for (const SeccompSyscall& c : s.syscalls)
      if (c.action == "SCMP_ACT_ALLOW" && (!unconditional || c.args.empty()))
        for (const std::string& n : c.names)
          if (n == name) return true;
    return false;
  };
  for (const char* ok : {"read", "write", "execve", "openat", "futex", "clone3", "exit_group",
                         "epoll_wait", "socket", "setuid", "capset", "rt_sigreturn"})
    EXPECT_TRUE(allowed(d, ok, false) || std::string(ok) == "clone3") << ok;
  for (const char* blocked : {"mount", "umount2", "unshare", "setns", "keyctl", "add_key",
                              "request_key", "kexec_load", "init_module", "bpf", "ptrace_nope",
                              "reboot", "swapon", "pivot_root", "open_by_handle_at", "userfaultfd"})
    EXPECT_FALSE(allowed(d, blocked, false)) << blocked;
  EXPECT_FALSE(allowed(d, "clone", true));  // only without namespace flags
  Seccomp admin = RuntimeDefaultSeccompProfile({"CAP_SYS_ADMIN"});
  EXPECT_TRUE(allowed(admin, "mount", true));
  EXPECT_TRUE(allowed(admin, "clone", true));
  EXPECT_TRUE(ValidateSeccomp(admin).ok());
}

TEST(NativeMountTest, ParseMountOptions) {
  MountOptions o = ParseMountOptions({"rbind", "ro", "nosuid", "rslave", "mode=755", "size=1k"});
  EXPECT_TRUE(o.bind);
  EXPECT_TRUE(o.recursive);
  EXPECT_EQ(o.flags, static_cast<unsigned long>(MS_RDONLY | MS_NOSUID));
  EXPECT_EQ(o.propagation, static_cast<unsigned long>(MS_SLAVE | MS_REC));
  EXPECT_EQ(o.data, "mode=755,size=1k");
  EXPECT_EQ(ParseMountOptions({"ro", "rw"}).flags, 0u);
}

}  // namespace
}  // namespace berth::native
