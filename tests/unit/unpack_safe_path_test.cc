// SafeRoot: both resolvers (openat2 and the userspace fallback) must agree on every case.

#include "common/safe_path.h"

#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "tests/support/test_env.h"

namespace berth {
namespace {

namespace fs = std::filesystem;
using ::berth::testing::TempDir;

struct stat StatFd(int fd) {
  struct stat st {};
  EXPECT_EQ(fstat(fd, &st), 0);
  return st;
}

struct stat LStat(const std::string& p) {
  struct stat st {};
  EXPECT_EQ(lstat(p.c_str(), &st), 0) << p;
  return st;
}

bool SameInode(int fd, const std::string& p) {
  struct stat a = StatFd(fd), b = LStat(p);
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

class SafePathTest : public ::testing::TestWithParam<ResolverKind> {
 protected:
  void SetUp() override {
    root_ = tmp_ / "root";
    outside_ = tmp_ / "outside";
    fs::create_directories(root_ + "/a/b");
    fs::create_directories(root_ + "/etc");
    fs::create_directories(outside_);
    std::ofstream(root_ + "/a/b/file") << "inside";
    std::ofstream(root_ + "/etc/x") << "inside etc";
    std::ofstream(outside_ + "/secret") << "outside";
    Result<SafeRoot> r = SafeRoot::Open(root_, GetParam());
    if (!r.ok() && r.status().code() == StatusCode::kUnimplemented) GTEST_SKIP() << "no openat2";
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    sr_.emplace(std::move(r).value());
    EXPECT_EQ(sr_->uses_fallback(), GetParam() == ResolverKind::kFallback);
  }
  void Link(const std::string& target, const std::string& name) {
    ASSERT_EQ(symlink(target.c_str(), (root_ + "/" + name).c_str()), 0) << name;
  }

  TempDir tmp_;
  std::string root_, outside_;
  std::optional<SafeRoot> sr_;
};

TEST_P(SafePathTest, PlainPaths) {
  auto fd = sr_->Resolve("a/b/file");
  ASSERT_TRUE(fd.ok()) << fd.status().ToString();
  EXPECT_TRUE(SameInode(fd->get(), root_ + "/a/b/file"));
  for (const char* p : {"", "/", ".", "a/..", "/../.."}) {
    auto r = sr_->Resolve(p);
    ASSERT_TRUE(r.ok()) << p << ": " << r.status().ToString();
    EXPECT_TRUE(SameInode(r->get(), root_)) << p;
  }
  EXPECT_EQ(sr_->Resolve("a/missing").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(sr_->Resolve("a/b/file/x").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(sr_->Resolve("a/b/file", kResolveDirectory).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_P(SafePathTest, DotDotIsClampedAtTheRoot) {
  auto r = sr_->Resolve("../../../outside/secret");
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  auto in = sr_->Resolve("../../a/../../a/b/file");
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  EXPECT_TRUE(SameInode(in->get(), root_ + "/a/b/file"));
  Link("../../../outside", "up");
  EXPECT_EQ(sr_->Resolve("up/secret").status().code(), StatusCode::kNotFound);
}

TEST_P(SafePathTest, AbsoluteSymlinksAreReRooted) {
  Link("/", "evil");
  Link("/a/b", "abs");
  auto r = sr_->Resolve("evil/etc/x");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(SameInode(r->get(), root_ + "/etc/x"));
  auto f = sr_->Resolve("abs/file");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_TRUE(SameInode(f->get(), root_ + "/a/b/file"));
  Link(outside_, "out");  // the real outside path, re-rooted, does not exist inside
  EXPECT_EQ(sr_->Resolve("out/secret").status().code(), StatusCode::kNotFound);
}

TEST_P(SafePathTest, FinalSymlinkFollowedOnlyWhenAsked) {
  Link("/a/b/file", "lf");
  auto link = sr_->Resolve("lf");
  ASSERT_TRUE(link.ok());
  EXPECT_TRUE(S_ISLNK(StatFd(link->get()).st_mode));
  auto target = sr_->Resolve("lf", kResolveFollowFinal);
  ASSERT_TRUE(target.ok());
  EXPECT_TRUE(SameInode(target->get(), root_ + "/a/b/file"));
  // A trailing slash follows, like the kernel does.
  Link("a", "ld");
  auto dir = sr_->Resolve("ld/");
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  EXPECT_TRUE(SameInode(dir->get(), root_ + "/a"));
}

TEST_P(SafePathTest, NoSymlinksFlagRefusesSymlinksOnTheWay) {
  Link("/a/b", "abs");
  EXPECT_EQ(sr_->Resolve("abs/file", kResolveNoSymlinks).status().code(),
            StatusCode::kInvalidArgument);
  auto self = sr_->Resolve("abs", kResolveNoSymlinks);  // the link itself is fine
  ASSERT_TRUE(self.ok()) << self.status().ToString();
  EXPECT_TRUE(S_ISLNK(StatFd(self->get()).st_mode));
}

TEST_P(SafePathTest, SymlinkLoopsAndBudget) {
  Link("loop2", "loop1");
  Link("loop1", "loop2");
  Link("self/x", "self");
  EXPECT_EQ(sr_->Resolve("loop1", kResolveFollowFinal).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(sr_->Resolve("self/y").status().code(), StatusCode::kInvalidArgument);
  // A chain of 20 links resolves with both resolvers; one of 300 exceeds every budget.
  Link("a", "c0");
  for (int i = 1; i <= 300; ++i) Link("c" + std::to_string(i - 1), "c" + std::to_string(i));
  auto ok = sr_->Resolve("c20/b/file");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_TRUE(SameInode(ok->get(), root_ + "/a/b/file"));
  EXPECT_EQ(sr_->Resolve("c300/b").status().code(), StatusCode::kInvalidArgument);
}

TEST_P(SafePathTest, MagicLinksAreNeverJumped) {
  // Inside a root without /proc, /proc/self/root is just a missing path.
  Link("/proc/self/root", "p");
  EXPECT_EQ(sr_->Resolve("p/etc").status().code(), StatusCode::kNotFound);
  // With procfs inside the root (here: the root is "/"), openat2 refuses the magic link and
  // the fallback reads its text ("/") and resolves that inside the root: both stay in the root.
  auto host = SafeRoot::Open("/", GetParam());
  ASSERT_TRUE(host.ok());
  auto r = host->Resolve("proc/self/root/etc", kResolveFollowFinal);
  if (GetParam() == ResolverKind::kFallback) {
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(SameInode(r->get(), "/etc"));
  } else {
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  }
}

// procfs mounted inside the root (as in a container rootfs): /proc/self/fd/N must not lead to
// the directory fd N refers to, whichever resolver runs. Needs root for the bind mount, done in
// a child's private mount namespace.
TEST_P(SafePathTest, ProcInsideTheRootDoesNotLeadOut) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root for a bind mount";
  fs::create_directories(root_ + "/proc");
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (unshare(CLONE_NEWNS) != 0) _exit(10);
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) _exit(11);
    if (mount("/proc", (root_ + "/proc").c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
      _exit(12);
    }
    int out_fd = open(outside_.c_str(), O_PATH | O_CLOEXEC);
    if (out_fd < 0) _exit(13);
    auto r = sr_->Resolve("proc/self/fd/" + std::to_string(out_fd) + "/secret");
    if (r.ok()) _exit(14);
    auto r2 = sr_->Resolve("proc/self/cwd/" + outside_ + "/secret");
    if (r2.ok()) _exit(15);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST_P(SafePathTest, ResolveParent) {
  auto p = sr_->ResolveParent("a/b/file");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->name, "file");
  EXPECT_TRUE(SameInode(p->dir.get(), root_ + "/a/b"));
  auto q = sr_->ResolveParent("/a/b/");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->name, "b");
  EXPECT_TRUE(SameInode(q->dir.get(), root_ + "/a"));
  for (const char* bad : {"", "/", "a/..", "a/.", ".."}) {
    EXPECT_EQ(sr_->ResolveParent(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
  Link("/", "evil");
  auto e = sr_->ResolveParent("evil/etc/passwd");
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(SameInode(e->dir.get(), root_ + "/etc"));
  EXPECT_EQ(sr_->ResolveParent("evil/etc/passwd", kResolveNoSymlinks).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_P(SafePathTest, MkdirAllStaysInside) {
  auto d = sr_->MkdirAll("x/y/z", 0750);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_TRUE(SameInode(d->get(), root_ + "/x/y/z"));
  EXPECT_EQ(
      LStat(root_ + "/x/y").st_mode & 07777, 0750u & ~[] {
        mode_t m = umask(0);
        umask(m);
        return m;
      }());
  Link("/", "evil");
  Link("../../../outside", "up");
  auto through = sr_->MkdirAll("evil/../../new1/sub", 0755);
  ASSERT_TRUE(through.ok()) << through.status().ToString();
  EXPECT_TRUE(fs::is_directory(root_ + "/new1/sub"));
  EXPECT_EQ(sr_->MkdirAll("up/made", 0755).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(outside_ + "/made"));
  EXPECT_EQ(sr_->MkdirAll("evil/new2", 0755, kResolveNoSymlinks).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(root_ + "/new2"));
  EXPECT_EQ(sr_->MkdirAll("a/b/file/sub", 0755).status().code(), StatusCode::kInvalidArgument);
  auto existing = sr_->MkdirAll("a/b", 0700);
  ASSERT_TRUE(existing.ok());
  EXPECT_EQ(fs::directory_iterator(outside_)->path().filename(), "secret");
}

INSTANTIATE_TEST_SUITE_P(Resolvers, SafePathTest,
                         ::testing::Values(ResolverKind::kOpenat2, ResolverKind::kFallback),
                         [](const auto& info) {
                           return info.param == ResolverKind::kOpenat2 ? "Openat2" : "Fallback";
                         });

// With openat2 failing ENOSYS (as on old kernels), kAuto must pick the fallback. A seccomp
// filter in a child process makes the kernel answer that way.
TEST(SafePathAutoTest, FallsBackWhenOpenat2IsMissing) {
  TempDir tmp;
  fs::create_directories(tmp / "root/d");
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {sizeof(filter) / sizeof(filter[0]), filter};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(10);
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) _exit(11);
    auto r = SafeRoot::Open(tmp / "root");
    if (!r.ok()) _exit(12);
    if (!r->uses_fallback()) _exit(13);
    if (!r->Resolve("d/../d").ok()) _exit(14);
    if (SafeRoot::Open(tmp / "root", ResolverKind::kOpenat2).status().code() !=
        StatusCode::kUnimplemented) {
      _exit(15);
    }
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  auto normal = SafeRoot::Open(tmp / "root");
  ASSERT_TRUE(normal.ok());
  EXPECT_FALSE(normal->uses_fallback());  // this kernel has openat2
}

}  // namespace
}  // namespace berth
