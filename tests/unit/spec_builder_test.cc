// cri/container: the CRI → OCI spec rules (spec_builder) and image user resolution
// (user_resolver), one test per rule. No root, no containers.

#include "cri/container/spec_builder.h"
#include "cri/container/host_devices.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>

#include <gtest/gtest.h>

#include "cri/container/user_resolver.h"

namespace berth::container {
namespace {

using nlohmann::json;
namespace cri = runtime::v1;

class SpecBuilderTest : public ::testing::Test {
 protected:
  SpecBuilderTest() {
    config.mutable_metadata()->set_name("app");
    config.mutable_image()->set_image("docker.io/library/busybox:latest");
    pod.id = std::string(64, 'a');
    pod.config.mutable_metadata()->set_name("web");
    pod.config.mutable_metadata()->set_namespace_("default");
    pod.config.mutable_metadata()->set_uid("uid-1");
    pod.netns_path = "/run/berth/netns/x";
    pod.ipc_ns_path = "/run/berth/pods/x/ipc";
    pod.uts_ns_path = "/run/berth/pods/x/uts";
    pod.hostname = "web-host";
    pod.hostname_path = "/state/pods/x/hostname";
    pod.hosts_path = "/state/pods/x/hosts";
    pod.resolv_conf_path = "/state/pods/x/resolv.conf";
    pod.shm_path = "/state/pods/x/shm";
    pod.cgroup_parent = "/kubepods/pod1";
    image.entrypoint = {"/bin/entry"};
    image.cmd = {"default-arg"};
    image.env = {"PATH=/bin", "A=image"};
    image.working_dir = "/work";
  }

  json Build() {
    Result<BuiltSpec> r = TryBuild();
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->spec : json();
  }
  Result<BuiltSpec> TryBuild() { return BuildSpec(Inputs()); }
  SpecInputs Inputs() {
    SpecInputs in;
    in.container_id = std::string(64, 'c');
    in.config = &config;
    in.pod = &pod;
    in.image = &image;
    in.user = user;
    in.target_pid_ns_path = target_pid;
    in.available_caps = ~uint64_t{0};  // results independent of the host running the test
    return in;
  }
  cri::LinuxContainerSecurityContext* sc() {
    return config.mutable_linux()->mutable_security_context();
  }
  static const json* FindMount(const json& spec, const std::string& dst) {
    for (const json& m : spec["mounts"])
      if (m["destination"] == dst) return &m;
    return nullptr;
  }
  static const json* FindNs(const json& spec, const std::string& type) {
    for (const json& n : spec["linux"]["namespaces"])
      if (n["type"] == type) return &n;
    return nullptr;
  }
  static bool Has(const json& arr, const std::string& v) {
    return std::find(arr.begin(), arr.end(), json(v)) != arr.end();
  }

  cri::ContainerConfig config;
  PodView pod;
  image::ImageConfigInfo image;
  ResolvedUser user;
  std::string target_pid;
};

// ---- args ----
TEST_F(SpecBuilderTest, ImageEntrypointAndCmdByDefault) {
  EXPECT_EQ(Build()["process"]["args"], json({"/bin/entry", "default-arg"}));
}
TEST_F(SpecBuilderTest, ArgsReplaceImageCmdKeepEntrypoint) {
  config.add_args("x");
  config.add_args("y");
  EXPECT_EQ(Build()["process"]["args"], json({"/bin/entry", "x", "y"}));
}
TEST_F(SpecBuilderTest, CommandIgnoresEntrypointAndCmd) {
  config.add_command("/bin/sh");
  EXPECT_EQ(Build()["process"]["args"], json({"/bin/sh"}));
  config.add_args("-c");
  config.add_args("true");
  EXPECT_EQ(Build()["process"]["args"], json({"/bin/sh", "-c", "true"}));
}
TEST_F(SpecBuilderTest, NoCommandAnywhereIsInvalid) {
  image.entrypoint.clear();
  image.cmd.clear();
  auto r = TryBuild();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("no command"), std::string::npos);
}

// ---- env, cwd ----
TEST_F(SpecBuilderTest, EnvImageThenConfigOverrideByKey) {
  auto* kv = config.add_envs();
  kv->set_key("A");
  kv->set_value("config");
  kv = config.add_envs();
  kv->set_key("B");
  kv->set_value("b=with=equals");
  json env = Build()["process"]["env"];
  EXPECT_EQ(env, json({"HOSTNAME=web-host", "PATH=/bin", "A=config", "B=b=with=equals"}));
}
TEST_F(SpecBuilderTest, DefaultPathWhenImageHasNone) {
  image.env = {"X=1"};
  json env = Build()["process"]["env"];
  EXPECT_EQ(env[0].get<std::string>().rfind("PATH=/usr/local/sbin", 0), 0u) << env;
}
TEST_F(SpecBuilderTest, WorkingDirConfigThenImageThenRoot) {
  EXPECT_EQ(Build()["process"]["cwd"], "/work");
  config.set_working_dir("/override");
  EXPECT_EQ(Build()["process"]["cwd"], "/override");
  config.clear_working_dir();
  image.working_dir.clear();
  EXPECT_EQ(Build()["process"]["cwd"], "/");
}

// ---- user ----
TEST_F(SpecBuilderTest, ResolvedUserGoesToProcessUser) {
  user = {1000, 100, {100, 10}};
  json u = Build()["process"]["user"];
  EXPECT_EQ(u["uid"], 1000);
  EXPECT_EQ(u["gid"], 100);
  EXPECT_EQ(u["additionalGids"], json({100, 10}));
}

const char kPasswd[] =
    "root:x:0:0:root:/root:/bin/sh\n"
    "daemon:x:1:1::/:/bin/false\n"
    "# comment\n"
    "broken line\n"
    "app:x:1000:1000:App:/home/app:/bin/sh\n";
const char kGroup[] =
    "root:x:0:\n"
    "wheel:x:10:root,app\n"
    "app:x:1000:\n"
    "audio:x:29:app\n"
    "staff:x:50:\n";

TEST(UserResolverTest, ImageUserForms) {
  cri::LinuxContainerSecurityContext sc;
  auto r = ResolveUser(sc, "", kPasswd, kGroup);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->uid, 0u);
  EXPECT_EQ(r->gid, 0u);
  EXPECT_EQ(r->additional_gids, (std::vector<uint32_t>{0, 10}));

  r = ResolveUser(sc, "app", kPasswd, kGroup);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->uid, 1000u);
  EXPECT_EQ(r->gid, 1000u);
  EXPECT_EQ(r->additional_gids, (std::vector<uint32_t>{1000, 10, 29}));

  r = ResolveUser(sc, "1000", kPasswd, kGroup);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->gid, 1000u);

  r = ResolveUser(sc, "4242", kPasswd, kGroup);  // unknown uid: gid 0, no groups
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->uid, 4242u);
  EXPECT_EQ(r->gid, 0u);
  EXPECT_EQ(r->additional_gids, (std::vector<uint32_t>{0}));

  r = ResolveUser(sc, "1000:50", kPasswd, kGroup);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->gid, 50u);

  r = ResolveUser(sc, "app:staff", kPasswd, kGroup);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->uid, 1000u);
  EXPECT_EQ(r->gid, 50u);

  r = ResolveUser(sc, "nobody-here", kPasswd, kGroup);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("nobody-here"), std::string::npos);
  r = ResolveUser(sc, "app:nogroup", kPasswd, kGroup);
  EXPECT_FALSE(r.ok());
}

TEST(UserResolverTest, RunAsUserAndUsernameOverrideImage) {
  cri::LinuxContainerSecurityContext sc;
  sc.mutable_run_as_user()->set_value(1000);
  auto r = ResolveUser(sc, "daemon", kPasswd, kGroup);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->uid, 1000u);
  EXPECT_EQ(r->gid, 1000u);  // from /etc/passwd

  sc.mutable_run_as_group()->set_value(7);
  sc.add_supplemental_groups(99);
  r = ResolveUser(sc, "", kPasswd, kGroup);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->gid, 7u);
  EXPECT_EQ(r->additional_gids, (std::vector<uint32_t>{7, 10, 29, 99}));

  sc.set_supplemental_groups_policy(cri::SupplementalGroupsPolicy::Strict);
  r = ResolveUser(sc, "", kPasswd, kGroup);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->additional_gids, (std::vector<uint32_t>{7, 99}));

  cri::LinuxContainerSecurityContext byname;
  byname.set_run_as_username("app");
  r = ResolveUser(byname, "root", kPasswd, kGroup);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->uid, 1000u);
  byname.set_run_as_username("ghost");
  EXPECT_EQ(ResolveUser(byname, "", kPasswd, kGroup).status().code(), StatusCode::kInvalidArgument);
}

TEST(UserResolverTest, RunAsGroupWithoutUserIsInvalid) {
  cri::LinuxContainerSecurityContext sc;
  sc.mutable_run_as_group()->set_value(5);
  Status s = ValidateUserRequest(sc);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("run_as_group"), std::string::npos);
  sc.mutable_run_as_user()->set_value(-1);
  EXPECT_EQ(ValidateUserRequest(sc).code(), StatusCode::kInvalidArgument);
}

TEST_F(SpecBuilderTest, RunAsGroupWithoutUserFailsBuild) {
  sc()->mutable_run_as_group()->set_value(5);
  EXPECT_EQ(TryBuild().status().code(), StatusCode::kInvalidArgument);
}

// ---- capabilities ----
TEST_F(SpecBuilderTest, DefaultCapabilitiesAsContainerd) {
  json caps = Build()["process"]["capabilities"];
  std::vector<std::string> want = kDefaultCapabilities;
  std::sort(want.begin(), want.end());
  EXPECT_EQ(caps["bounding"], json(want));
  EXPECT_EQ(caps["effective"], json(want));
  EXPECT_EQ(caps["permitted"], json(want));
  EXPECT_EQ(caps["ambient"], json::array());
}
TEST_F(SpecBuilderTest, AddDropWithAndWithoutPrefix) {
  sc()->mutable_capabilities()->add_add_capabilities("NET_ADMIN");
  sc()->mutable_capabilities()->add_add_capabilities("cap_sys_time");
  sc()->mutable_capabilities()->add_drop_capabilities("CAP_CHOWN");
  sc()->mutable_capabilities()->add_drop_capabilities("kill");
  json b = Build()["process"]["capabilities"]["bounding"];
  EXPECT_TRUE(Has(b, "CAP_NET_ADMIN"));
  EXPECT_TRUE(Has(b, "CAP_SYS_TIME"));
  EXPECT_FALSE(Has(b, "CAP_CHOWN"));
  EXPECT_FALSE(Has(b, "CAP_KILL"));
  EXPECT_TRUE(Has(b, "CAP_SETUID"));
}
TEST_F(SpecBuilderTest, DropAllThenAdd) {
  sc()->mutable_capabilities()->add_drop_capabilities("ALL");
  EXPECT_EQ(Build()["process"]["capabilities"]["bounding"], json::array());
  sc()->mutable_capabilities()->add_add_capabilities("NET_BIND_SERVICE");
  EXPECT_EQ(Build()["process"]["capabilities"]["bounding"], json({"CAP_NET_BIND_SERVICE"}));
}
TEST_F(SpecBuilderTest, AddAllGivesEveryCapability) {
  sc()->mutable_capabilities()->add_add_capabilities("ALL");
  sc()->mutable_capabilities()->add_drop_capabilities("SYS_ADMIN");
  json b = Build()["process"]["capabilities"]["bounding"];
  EXPECT_EQ(b.size(), AllCapabilities(40).size() - 1);
  EXPECT_FALSE(Has(b, "CAP_SYS_ADMIN"));
}
TEST_F(SpecBuilderTest, AmbientCapabilities) {
  sc()->mutable_capabilities()->add_add_ambient_capabilities("NET_ADMIN");
  json caps = Build()["process"]["capabilities"];
  EXPECT_TRUE(Has(caps["bounding"], "CAP_NET_ADMIN"));
  EXPECT_EQ(caps["ambient"], json({"CAP_NET_ADMIN"}));
  EXPECT_EQ(caps["inheritable"], json({"CAP_NET_ADMIN"}));
}
TEST_F(SpecBuilderTest, UnknownCapabilityIsInvalid) {
  sc()->mutable_capabilities()->add_add_capabilities("FLY");
  auto r = TryBuild();
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("FLY"), std::string::npos);
}

// ---- privileged ----
TEST_F(SpecBuilderTest, PrivilegedNeedsPrivilegedPod) {
  sc()->set_privileged(true);
  auto r = TryBuild();
  ASSERT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("privileged"), std::string::npos);
}
TEST_F(SpecBuilderTest, PrivilegedSemantics) {
  pod.config.mutable_linux()->mutable_security_context()->set_privileged(true);
  sc()->set_privileged(true);
  sc()->mutable_seccomp()->set_profile_type(cri::SecurityProfile::RuntimeDefault);
  sc()->add_masked_paths("/proc/kcore");
  json spec = Build();
  EXPECT_EQ(spec["process"]["capabilities"]["bounding"].size(), AllCapabilities(40).size());
  EXPECT_FALSE(spec["linux"].contains("seccomp"));
  EXPECT_FALSE(spec["linux"].contains("maskedPaths"));
  EXPECT_FALSE(spec["linux"].contains("readonlyPaths"));
  EXPECT_TRUE(Has((*FindMount(spec, "/sys"))["options"], "rw"));
  EXPECT_TRUE(Has((*FindMount(spec, "/sys/fs/cgroup"))["options"], "rw"));
  json rules = spec["linux"]["resources"]["devices"];
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0]["allow"], true);
  EXPECT_EQ(rules[0]["access"], "rwm");
}

// "ALL" and privileged mean every capability berthd holds: none it lacks (capset would fail).
TEST_F(SpecBuilderTest, PrivilegedAndAllStayWithinTheCapabilitiesBerthdHolds) {
  pod.config.mutable_linux()->mutable_security_context()->set_privileged(true);
  sc()->set_privileged(true);
  SpecInputs in = Inputs();
  in.available_caps = ~(uint64_t{1} << 24);  // no CAP_SYS_RESOURCE, as on this CI's VMs
  auto r = BuildSpec(in);
  ASSERT_TRUE(r.ok()) << r.status().message();
  json bounding = r->spec["process"]["capabilities"]["bounding"];
  EXPECT_EQ(bounding.size(), AllCapabilities(40).size() - 1);
  EXPECT_FALSE(Has(bounding, "CAP_SYS_RESOURCE"));
  EXPECT_TRUE(Has(bounding, "CAP_SYS_ADMIN"));
  sc()->set_privileged(false);
  sc()->mutable_capabilities()->add_add_capabilities("ALL");
  r = BuildSpec(in);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(Has(r->spec["process"]["capabilities"]["bounding"], "CAP_SYS_RESOURCE"));
}

// A privileged container gets every host device node (but /dev/pts, /dev/shm, console, ptmx).
TEST_F(SpecBuilderTest, PrivilegedGetsTheHostsDevices) {
  pod.config.mutable_linux()->mutable_security_context()->set_privileged(true);
  sc()->set_privileged(true);
  json spec = Build();
  std::vector<HostDevice> host = HostDevices("/dev");
  ASSERT_FALSE(host.empty());
  json devices = spec["linux"]["devices"];
  ASSERT_EQ(devices.size(), host.size());
  bool null_seen = false;
  for (const json& d : devices) {
    std::string path = d["path"];
    null_seen |= path == "/dev/null" && d["type"] == "c" && d["major"] == 1 && d["minor"] == 3;
    EXPECT_NE(path.rfind("/dev/pts/", 0), 0u) << path;
    EXPECT_NE(path, "/dev/ptmx");
    EXPECT_NE(path, "/dev/console");
  }
  EXPECT_TRUE(null_seen);
  // Not privileged: none of them.
  pod.config.mutable_linux()->mutable_security_context()->set_privileged(false);
  sc()->set_privileged(false);
  EXPECT_FALSE(Build()["linux"].contains("devices"));
}

// ---- security flags ----
TEST_F(SpecBuilderTest, NoNewPrivsAndReadonlyRootfs) {
  json spec = Build();
  EXPECT_EQ(spec["process"]["noNewPrivileges"], false);
  EXPECT_EQ(spec["root"]["readonly"], false);
  EXPECT_TRUE(Has((*FindMount(spec, "/sys"))["options"], "ro"));
  sc()->set_no_new_privs(true);
  sc()->set_readonly_rootfs(true);
  spec = Build();
  EXPECT_EQ(spec["process"]["noNewPrivileges"], true);
  EXPECT_EQ(spec["root"]["readonly"], true);
  EXPECT_EQ(spec["root"]["path"], "rootfs");
  EXPECT_TRUE(Has((*FindMount(spec, "/etc/hosts"))["options"], "ro"));
}

// ---- seccomp ----
TEST_F(SpecBuilderTest, SeccompAbsentIsUnconfined) {
  EXPECT_FALSE(Build()["linux"].contains("seccomp"));
  sc()->mutable_seccomp()->set_profile_type(cri::SecurityProfile::Unconfined);
  EXPECT_FALSE(Build()["linux"].contains("seccomp"));
}
TEST_F(SpecBuilderTest, SeccompRuntimeDefault) {
  sc()->mutable_seccomp()->set_profile_type(cri::SecurityProfile::RuntimeDefault);
  json s = Build()["linux"]["seccomp"];
  EXPECT_EQ(s["defaultAction"], "SCMP_ACT_ERRNO");
  ASSERT_FALSE(s["syscalls"].empty());
  EXPECT_TRUE(Has(s["syscalls"][0]["names"], "read"));
  // The deprecated path form selects the same profile.
  config.mutable_linux()->mutable_security_context()->clear_seccomp();
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  sc()->set_seccomp_profile_path("runtime/default");
#pragma GCC diagnostic pop
  EXPECT_EQ(Build()["linux"]["seccomp"], s);
}
TEST_F(SpecBuilderTest, SeccompLocalhost) {
  char tmpl[] = "/tmp/berth-seccomp-XXXXXX";
  int fd = ::mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  ::close(fd);
  std::ofstream(tmpl) << R"({"defaultAction":"SCMP_ACT_ALLOW",
    "archMap":[{"architecture":"SCMP_ARCH_X86_64","subArchitectures":["SCMP_ARCH_X86"]}],
    "syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"},
                {"names":["reboot"],"action":"SCMP_ACT_ALLOW","includes":{"caps":["CAP_SYS_BOOT"]}}]})";
  sc()->mutable_seccomp()->set_profile_type(cri::SecurityProfile::Localhost);
  sc()->mutable_seccomp()->set_localhost_ref(tmpl);
  json s = Build()["linux"]["seccomp"];
  ::unlink(tmpl);
  EXPECT_EQ(s["defaultAction"], "SCMP_ACT_ALLOW");
  EXPECT_EQ(s["architectures"], json({"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"}));
  ASSERT_EQ(s["syscalls"].size(), 1u);  // the CAP_SYS_BOOT rule is not for this container
  EXPECT_EQ(s["syscalls"][0]["names"], json({"mkdir"}));
}
TEST_F(SpecBuilderTest, SeccompLocalhostMissingFileNamesPath) {
  sc()->mutable_seccomp()->set_profile_type(cri::SecurityProfile::Localhost);
  sc()->mutable_seccomp()->set_localhost_ref("/nonexistent/profile.json");
  Status s = ValidateContainerConfig(config, pod);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("/nonexistent/profile.json"), std::string::npos);
  EXPECT_EQ(TryBuild().status().code(), StatusCode::kInvalidArgument);
}

// ---- masked / readonly paths ----
TEST_F(SpecBuilderTest, MaskedAndReadonlyPathsDefaultOrRequest) {
  json spec = Build();
  EXPECT_EQ(spec["linux"]["maskedPaths"], json(kDefaultMaskedPaths));
  EXPECT_EQ(spec["linux"]["readonlyPaths"], json(kDefaultReadonlyPaths));
  sc()->add_masked_paths("/proc/foo");
  sc()->add_readonly_paths("/proc/bar");
  spec = Build();
  EXPECT_EQ(spec["linux"]["maskedPaths"], json({"/proc/foo"}));
  EXPECT_EQ(spec["linux"]["readonlyPaths"], json({"/proc/bar"}));
}

// ---- namespaces ----
TEST_F(SpecBuilderTest, JoinsPodNamespaces) {
  json spec = Build();
  EXPECT_EQ((*FindNs(spec, "network"))["path"], pod.netns_path);
  EXPECT_EQ((*FindNs(spec, "ipc"))["path"], pod.ipc_ns_path);
  EXPECT_EQ((*FindNs(spec, "uts"))["path"], pod.uts_ns_path);
  ASSERT_NE(FindNs(spec, "mount"), nullptr);
  EXPECT_FALSE(FindNs(spec, "mount")->contains("path"));
  // Default pid mode is POD; without a pod pid namespace (none shared) it is a new one.
  ASSERT_NE(FindNs(spec, "pid"), nullptr);
  EXPECT_FALSE(FindNs(spec, "pid")->contains("path"));
  EXPECT_EQ(spec["hostname"], "web-host");
}
TEST_F(SpecBuilderTest, HostNamespaces) {
  pod.host_network = true;
  pod.host_ipc = true;
  pod.netns_path.clear();
  pod.shm_path.clear();
  sc()->mutable_namespace_options()->set_pid(cri::NODE);
  json spec = Build();
  EXPECT_EQ(FindNs(spec, "network"), nullptr);
  EXPECT_EQ(FindNs(spec, "ipc"), nullptr);
  EXPECT_EQ(FindNs(spec, "uts"), nullptr);  // hostNetwork implies the host's UTS
  EXPECT_EQ(FindNs(spec, "pid"), nullptr);
  EXPECT_FALSE(spec.contains("hostname"));  // would rename the host
  EXPECT_EQ((*FindMount(spec, "/dev/shm"))["source"], "/dev/shm");
}
TEST_F(SpecBuilderTest, PidModes) {
  pod.pid_ns_path = "/proc/123/ns/pid";
  sc()->mutable_namespace_options()->set_pid(cri::POD);
  EXPECT_EQ((*FindNs(Build(), "pid"))["path"], "/proc/123/ns/pid");
  sc()->mutable_namespace_options()->set_pid(cri::CONTAINER);
  EXPECT_FALSE(FindNs(Build(), "pid")->contains("path"));
  sc()->mutable_namespace_options()->set_pid(cri::TARGET);
  EXPECT_EQ(TryBuild().status().code(), StatusCode::kInvalidArgument);  // no target_id
  sc()->mutable_namespace_options()->set_target_id("abc");
  target_pid = "/proc/456/ns/pid";
  EXPECT_EQ((*FindNs(Build(), "pid"))["path"], "/proc/456/ns/pid");
}

// ---- mounts ----
TEST_F(SpecBuilderTest, DefaultMountsAndPodFiles) {
  json spec = Build();
  for (const char* d : {"/proc", "/dev", "/dev/pts", "/dev/mqueue", "/sys", "/sys/fs/cgroup"})
    EXPECT_NE(FindMount(spec, d), nullptr) << d;
  EXPECT_EQ((*FindMount(spec, "/dev/shm"))["source"], pod.shm_path);
  EXPECT_EQ((*FindMount(spec, "/etc/hostname"))["source"], pod.hostname_path);
  EXPECT_EQ((*FindMount(spec, "/etc/hosts"))["source"], pod.hosts_path);
  EXPECT_EQ((*FindMount(spec, "/etc/resolv.conf"))["source"], pod.resolv_conf_path);
  pod.resolv_conf_path.clear();
  EXPECT_EQ(FindMount(Build(), "/etc/resolv.conf"), nullptr);
}
TEST_F(SpecBuilderTest, CriMountsWithPropagation) {
  auto* m = config.add_mounts();
  m->set_container_path("/data/");
  m->set_host_path("/srv/data");
  m->set_readonly(true);
  m->set_selinux_relabel(true);  // ignored
  m = config.add_mounts();
  m->set_container_path("/slave");
  m->set_host_path("/srv/slave");
  m->set_propagation(cri::PROPAGATION_HOST_TO_CONTAINER);
  json spec = Build();
  const json* data = FindMount(spec, "/data");
  ASSERT_NE(data, nullptr);
  EXPECT_EQ((*data)["source"], "/srv/data");
  EXPECT_EQ((*data)["options"], json({"rbind", "rprivate", "ro"}));
  EXPECT_EQ((*FindMount(spec, "/slave"))["options"], json({"rbind", "rslave", "rw"}));
  EXPECT_EQ(spec["linux"]["rootfsPropagation"], "rslave");
  m = config.add_mounts();
  m->set_container_path("/shared");
  m->set_host_path("/srv/shared");
  m->set_propagation(cri::PROPAGATION_BIDIRECTIONAL);
  spec = Build();
  EXPECT_EQ((*FindMount(spec, "/shared"))["options"], json({"rbind", "rshared", "rw"}));
  EXPECT_EQ(spec["linux"]["rootfsPropagation"], "rshared");
}
TEST_F(SpecBuilderTest, CriMountOverridesDefaultDestination) {
  auto* m = config.add_mounts();
  m->set_container_path("/etc/hosts");
  m->set_host_path("/my/hosts");
  json spec = Build();
  int n = 0;
  for (const json& x : spec["mounts"]) n += x["destination"] == "/etc/hosts";
  EXPECT_EQ(n, 1);
  EXPECT_EQ((*FindMount(spec, "/etc/hosts"))["source"], "/my/hosts");
}
// An image volume is a read-only private bind of the directory image_volumes.h set up, even
// when the request says readonly=false or asks for propagation.
TEST_F(SpecBuilderTest, ImageVolumeIsReadOnlyBindOfItsSource) {
  auto* host = config.add_mounts();
  host->set_container_path("/data");
  host->set_host_path("/srv/data");
  auto* m = config.add_mounts();
  m->set_container_path("/img/");
  m->mutable_image()->set_image("sha256:" + std::string(64, 'e'));
  m->set_readonly(false);
  m->set_propagation(cri::PROPAGATION_BIDIRECTIONAL);
  SpecInputs in = Inputs();
  in.image_volume_sources[1] = "/state/containers/c/image-volumes/1";
  Result<BuiltSpec> r = BuildSpec(in);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const json* img = FindMount(r->spec, "/img");
  ASSERT_NE(img, nullptr);
  EXPECT_EQ((*img)["type"], "bind");
  EXPECT_EQ((*img)["source"], "/state/containers/c/image-volumes/1");
  EXPECT_EQ((*img)["options"], json({"rbind", "rprivate", "ro"}));
  EXPECT_FALSE(r->spec["linux"].contains("rootfsPropagation"));
  EXPECT_TRUE(r->warnings.empty());
  // Without a prepared source it is an error, never a silently missing mount.
  EXPECT_EQ(TryBuild().status().code(), StatusCode::kInternal);
}
TEST_F(SpecBuilderTest, ImageVolumeFieldsAreValidated) {
  auto* m = config.add_mounts();
  m->set_container_path("/img");
  m->mutable_image()->set_image("busybox");
  SpecInputs in = Inputs();
  in.image_volume_sources[0] = "/v/0-sub";
  for (const char* sub : {"dir", "a/b/", "./a", ""}) {
    m->set_image_sub_path(sub);
    EXPECT_TRUE(BuildSpec(in).ok()) << sub;
  }
  for (const char* sub : {"..", "a/../b", "a/..", "/abs", "../x"}) {
    m->set_image_sub_path(sub);
    Result<BuiltSpec> r = BuildSpec(in);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << sub;
    EXPECT_NE(r.status().message().find("image_sub_path"), std::string::npos) << sub;
  }
  m->set_image_sub_path("");
  m->set_host_path("/srv/x");  // both a host path and an image
  EXPECT_EQ(ValidateContainerConfig(config, pod).code(), StatusCode::kInvalidArgument);
  m->clear_image();
  m->set_image_sub_path("dir");  // a sub path without an image
  EXPECT_EQ(ValidateContainerConfig(config, pod).code(), StatusCode::kInvalidArgument);
}
TEST_F(SpecBuilderTest, BadMountsAreInvalid) {
  auto* m = config.add_mounts();
  m->set_container_path("relative");
  m->set_host_path("/x");
  EXPECT_EQ(TryBuild().status().code(), StatusCode::kInvalidArgument);
}

// ---- devices ----
TEST_F(SpecBuilderTest, Devices) {
  auto* d = config.add_devices();
  d->set_host_path("/dev/null");
  d->set_container_path("/dev/mynull");
  d->set_permissions("rw");
  json spec = Build();
  ASSERT_EQ(spec["linux"]["devices"].size(), 1u);
  EXPECT_EQ(spec["linux"]["devices"][0]["path"], "/dev/mynull");
  EXPECT_EQ(spec["linux"]["devices"][0]["type"], "c");
  EXPECT_EQ(spec["linux"]["devices"][0]["major"], 1);
  EXPECT_EQ(spec["linux"]["devices"][0]["minor"], 3);
  json rule = spec["linux"]["resources"]["devices"][0];
  EXPECT_EQ(rule["access"], "rw");
  EXPECT_EQ(rule["allow"], true);
  d->set_host_path("/dev/does-not-exist");
  EXPECT_EQ(TryBuild().status().code(), StatusCode::kInvalidArgument);
}

// ---- resources, cgroups, sysctls, annotations ----
TEST_F(SpecBuilderTest, Resources) {
  auto* r = config.mutable_linux()->mutable_resources();
  r->set_cpu_shares(512);
  r->set_cpu_quota(50000);
  r->set_cpu_period(100000);
  r->set_cpuset_cpus("0");
  r->set_memory_limit_in_bytes(64 << 20);
  r->set_oom_score_adj(500);
  auto* h = r->add_hugepage_limits();
  h->set_page_size("2MB");
  h->set_limit(0);
  json spec = Build();
  json res = spec["linux"]["resources"];
  EXPECT_EQ(res["cpu"]["shares"], 512);
  EXPECT_EQ(res["cpu"]["quota"], 50000);
  EXPECT_EQ(res["cpu"]["period"], 100000);
  EXPECT_EQ(res["cpu"]["cpus"], "0");
  EXPECT_EQ(res["memory"]["limit"], 64 << 20);
  EXPECT_EQ(res["hugepageLimits"][0]["pageSize"], "2MB");
  EXPECT_EQ(spec["process"]["oomScoreAdj"], 500);
}
TEST_F(SpecBuilderTest, CgroupsPathSysctlsAnnotations) {
  (*pod.config.mutable_linux()->mutable_sysctls())["net.ipv4.ip_forward"] = "1";
  (*config.mutable_annotations())["a"] = "b";
  json spec = Build();
  EXPECT_EQ(spec["linux"]["cgroupsPath"], "/kubepods/pod1/" + std::string(64, 'c'));
  EXPECT_EQ(spec["linux"]["sysctl"]["net.ipv4.ip_forward"], "1");
  EXPECT_EQ(spec["annotations"]["a"], "b");
  EXPECT_EQ(spec["annotations"]["io.kubernetes.cri.container-type"], "container");
  EXPECT_EQ(spec["annotations"]["io.kubernetes.cri.sandbox-id"], pod.id);
  pod.cgroup_parent.clear();
  EXPECT_EQ(Build()["linux"]["cgroupsPath"], "/berth/" + pod.id + "/" + std::string(64, 'c'));
}
TEST_F(SpecBuilderTest, TtyAndMetadataRequired) {
  config.set_tty(true);
  EXPECT_EQ(Build()["process"]["terminal"], true);
  config.mutable_metadata()->clear_name();
  EXPECT_EQ(TryBuild().status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace berth::container
