#pragma once
// Test fixture for berth_native_runtime: a busybox bundle per test (from
// scripts/make-test-images, built once per test binary), a runc-like default spec, and helpers
// that run a container to completion capturing its stdout+stderr.

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/fs.h"
#include "plugins/runtime/native/lib/container.h"
#include "tests/support/test_env.h"

namespace berth::native::testing {

inline int Sh(const std::string& cmd) { return std::system(cmd.c_str()); }

class NativeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!::berth::testing::WhyNotRoot().empty()) return;
    images_ = new ::berth::testing::TempDir();
    ASSERT_EQ(Sh(std::string(BERTH_MAKE_TEST_IMAGES) + " " + images_->path() + " >/dev/null"), 0);
    std::string layout = images_->path() + "/busybox";
    auto blob = [&](const std::string& digest) {
      return layout + "/blobs/sha256/" + digest.substr(7);
    };
    auto index = nlohmann::json::parse(*ReadFile(layout + "/index.json"));
    auto manifest = nlohmann::json::parse(*ReadFile(blob(index["manifests"][0]["digest"])));
    base_rootfs_ = images_->path() + "/rootfs";
    ASSERT_EQ(Sh("mkdir -p " + base_rootfs_ + " && tar -xzf " +
                 blob(manifest["layers"][0]["digest"]) + " -C " + base_rootfs_),
              0);
  }
  static void TearDownTestSuite() {
    delete images_;
    images_ = nullptr;
  }

  void SetUp() override {
    BERTH_REQUIRE_ROOT();
    bundle_ = std::make_unique<::berth::testing::TempDir>();
    ASSERT_EQ(Sh("cp -a " + base_rootfs_ + " " + bundle_->path() + "/rootfs"), 0);
    static std::atomic<int> n{0};
    cgroup_path_ = "/berth-native-test/" + std::to_string(getpid()) + "-" + std::to_string(n++);
  }

  std::string rootfs() const { return bundle_->path() + "/rootfs"; }

  // What `runc spec` generates, plus a cgroup and the default capabilities of Docker.
  nlohmann::json DefaultSpec(std::vector<std::string> args) {
    nlohmann::json caps = {
        "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
        "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
        "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
        "CAP_KILL",    "CAP_AUDIT_WRITE"};
    return {
        {"ociVersion", "1.1.0"},
        {"process",
         {{"args", args},
          {"env", {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}},
          {"cwd", "/"},
          {"capabilities", {{"bounding", caps}, {"effective", caps}, {"permitted", caps}}},
          {"noNewPrivileges", true}}},
        {"root", {{"path", "rootfs"}}},
        {"hostname", "berth"},
        {"mounts",
         {{{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
          {{"destination", "/dev"},
           {"type", "tmpfs"},
           {"source", "tmpfs"},
           {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}},
          {{"destination", "/dev/pts"},
           {"type", "devpts"},
           {"source", "devpts"},
           {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}}},
          {{"destination", "/dev/shm"},
           {"type", "tmpfs"},
           {"source", "shm"},
           {"options", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}}},
          {{"destination", "/dev/mqueue"},
           {"type", "mqueue"},
           {"source", "mqueue"},
           {"options", {"nosuid", "noexec", "nodev"}}},
          {{"destination", "/sys"},
           {"type", "sysfs"},
           {"source", "sysfs"},
           {"options", {"nosuid", "noexec", "nodev", "ro"}}}}},
        {"linux",
         {{"namespaces",
           {{{"type", "pid"}},
            {{"type", "network"}},
            {{"type", "ipc"}},
            {{"type", "uts"}},
            {{"type", "mount"}},
            {{"type", "cgroup"}}}},
          {"cgroupsPath", cgroup_path_},
          {"maskedPaths",
           {"/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
            "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"}},
          {"readonlyPaths",
           {"/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
            "/proc/sysrq-trigger"}}}}};
  }

  CreateOptions Options(int out_fd) {
    CreateOptions o;
    o.bundle_dir = bundle_->path();
    o.stdio.out = out_fd;
    o.stdio.err = out_fd;
    return o;
  }

  struct RunResult {
    Status status;       // of Create/Start
    std::string output;  // stdout + stderr
    int exit_code = -1;  // -1 unless exited
    int signal = 0;      // the killing signal, if any
  };

  static std::string ReadAll(int fd) {
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
    return out;
  }

  static void Reap(pid_t pid, RunResult& r) {
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(ws)) r.exit_code = WEXITSTATUS(ws);
    if (WIFSIGNALED(ws)) r.signal = WTERMSIG(ws);
  }

  // Creates, starts and waits for a container; destroys it afterwards unless `keep` is given.
  RunResult Run(const nlohmann::json& doc, std::unique_ptr<Container>* keep = nullptr) {
    RunResult r;
    Result<OciSpec> spec = ParseSpec(doc);
    if (!spec.ok()) {
      r.status = spec.status();
      return r;
    }
    int p[2];
    EXPECT_EQ(pipe2(p, O_CLOEXEC), 0);
    Result<Container> c = Create(*spec, Options(p[1]));
    close(p[1]);
    if (!c.ok()) {
      close(p[0]);
      r.status = c.status();
      return r;
    }
    r.status = Start(c->init);
    r.output = ReadAll(p[0]);
    close(p[0]);
    Reap(c->init.pid, r);
    if (keep) {
      *keep = std::make_unique<Container>(std::move(*c));
    } else {
      EXPECT_TRUE(Destroy(*c).ok());
    }
    return r;
  }

  static inline ::berth::testing::TempDir* images_ = nullptr;
  static inline std::string base_rootfs_;
  std::unique_ptr<::berth::testing::TempDir> bundle_;
  std::string cgroup_path_;
};

}  // namespace berth::native::testing
