// Conformance suite for snapshotter plugins (DESIGN.md §4), run against every built-in one:
// the real .so from the plugin build dir, loaded by the real PluginHost and driven with the
// snapshotter.proto messages. The mounts the plugin returns are really performed (root), and
// layers are applied with the real unpacker in the whiteout mode of the snapshotter.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/integration/snapshotter_conformance_fixture.h"

namespace berth::snapshotter_testing {
namespace {

TEST_P(SnapshotterConformance, LayersStackAndChildOverrides) {
  auto m = ASSERT_OK_R(Prepare("base-active"));
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].type(), "bind");
  std::string mnt = Mount(m);
  Spit(mnt + "/a", "from base");
  Spit(mnt + "/b", "base b");
  fs::create_directories(mnt + "/d/e");
  Spit(mnt + "/d/e/f", "deep");
  Unmount(mnt);
  ASSERT_OK(Commit("base", "base-active"));

  auto m2 = ASSERT_OK_R(Prepare("child-active", "base"));
  std::string mnt2 = Mount(m2);
  EXPECT_EQ(Slurp(mnt2 + "/a"), "from base");
  EXPECT_EQ(Slurp(mnt2 + "/d/e/f"), "deep");
  Spit(mnt2 + "/b", "child b");
  Spit(mnt2 + "/c", "child c");
  Unmount(mnt2);
  ASSERT_OK(Commit("child", "child-active"));

  // A view of one parent, and of a deeper chain.
  auto v1 = ASSERT_OK_R(View("v-base", "base"));
  std::string vm1 = Mount(v1);
  EXPECT_EQ(Slurp(vm1 + "/b"), "base b");
  EXPECT_FALSE(fs::exists(vm1 + "/c"));
  auto v2 = ASSERT_OK_R(View("v-child", "child"));
  std::string vm2 = Mount(v2);
  EXPECT_EQ(Slurp(vm2 + "/a"), "from base");
  EXPECT_EQ(Slurp(vm2 + "/b"), "child b");
  EXPECT_EQ(Slurp(vm2 + "/c"), "child c");
  // Views are read-only.
  int fd = open((vm2 + "/new").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
  EXPECT_LT(fd, 0);
  EXPECT_EQ(errno, EROFS);
  if (fd >= 0) close(fd);
  // Mounts() answers the same as the View call.
  auto again = ASSERT_OK_R(Mounts("v-child"));
  ASSERT_EQ(again.size(), v2.size());
  EXPECT_EQ(Str(again[0]), Str(v2[0]));
  // A three-level active stack sees every layer.
  auto m3 = ASSERT_OK_R(Prepare("top", "child"));
  std::string mnt3 = Mount(m3);
  EXPECT_EQ(Slurp(mnt3 + "/a"), "from base");
  EXPECT_EQ(Slurp(mnt3 + "/b"), "child b");
  Spit(mnt3 + "/a", "top a");
  EXPECT_EQ(Slurp(mnt3 + "/a"), "top a");
  EXPECT_EQ(Slurp(vm1 + "/a"), "from base");  // lower layers untouched
}

TEST_P(SnapshotterConformance, WhiteoutsAndOpaqueDirsThroughTheUnpacker) {
  TarBuilder l1;
  l1.Dir("dir").File("dir/a", "a1").File("dir/b", "b1").File("keep", "k");
  l1.Dir("opq").File("opq/x", "x1").Dir("opq/sub").File("opq/sub/y", "y1");
  l1.Dir("gone").File("gone/inner", "i");
  ASSERT_NO_FATAL_FAILURE(ApplyLayer("L1", "", l1));
  TarBuilder l2;
  l2.File("dir/.wh.a", "").File(".wh.gone", "");
  l2.Dir("opq").File("opq/.wh..wh..opq", "").File("opq/z", "z2");
  l2.File("keep", "k2");
  ASSERT_NO_FATAL_FAILURE(ApplyLayer("L2", "L1", l2));
  TarBuilder l3;
  l3.Dir("gone").File("gone/again", "back");  // recreated after its whiteout
  ASSERT_NO_FATAL_FAILURE(ApplyLayer("L3", "L2", l3));

  for (const std::string top : {"L2", "L3"}) {
    SCOPED_TRACE(top);
    auto v = ASSERT_OK_R(View("view-" + top, top));
    std::string mnt = Mount(v);
    EXPECT_FALSE(fs::exists(mnt + "/dir/a"));
    EXPECT_EQ(Slurp(mnt + "/dir/b"), "b1");
    EXPECT_EQ(Slurp(mnt + "/keep"), "k2");
    EXPECT_FALSE(fs::exists(mnt + "/opq/x"));
    EXPECT_FALSE(fs::exists(mnt + "/opq/sub"));
    EXPECT_EQ(Slurp(mnt + "/opq/z"), "z2");
    for (const auto& e : fs::recursive_directory_iterator(mnt)) {  // no marker shows through
      EXPECT_EQ(e.path().filename().string().rfind(".wh.", 0), std::string::npos) << e.path();
    }
    if (top == "L2") {
      EXPECT_FALSE(fs::exists(mnt + "/gone"));
    } else {
      EXPECT_EQ(Slurp(mnt + "/gone/again"), "back");
      EXPECT_FALSE(fs::exists(mnt + "/gone/inner"));
    }
  }
  // The lowest layer alone still has everything.
  auto v1 = ASSERT_OK_R(View("view-L1", "L1"));
  std::string mnt1 = Mount(v1);
  EXPECT_EQ(Slurp(mnt1 + "/dir/a"), "a1");
  EXPECT_EQ(Slurp(mnt1 + "/opq/sub/y"), "y1");
}

TEST_P(SnapshotterConformance, MetadataSurvivesIntoChildren) {
  auto m = ASSERT_OK_R(Prepare("meta-active"));
  std::string mnt = Mount(m);
  Spit(mnt + "/f", "data");
  ASSERT_EQ(chown((mnt + "/f").c_str(), 1234, 5678), 0);
  ASSERT_EQ(chmod((mnt + "/f").c_str(), 04751), 0);
  ASSERT_EQ(setxattr((mnt + "/f").c_str(), "user.berth", "v1", 2, 0), 0) << strerror(errno);
  ASSERT_EQ(link((mnt + "/f").c_str(), (mnt + "/hard").c_str()), 0);
  ASSERT_EQ(symlink("f", (mnt + "/sym").c_str()), 0);
  ASSERT_EQ(mknod((mnt + "/null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
  ASSERT_EQ(mkfifo((mnt + "/fifo").c_str(), 0600), 0);
  struct timespec ts[2] = {{1600000000, 123456789}, {1600000000, 123456789}};
  ASSERT_EQ(utimensat(AT_FDCWD, (mnt + "/f").c_str(), ts, 0), 0);
  fs::create_directories(mnt + "/dir");
  ASSERT_EQ(chmod((mnt + "/dir").c_str(), 01777), 0);
  ASSERT_EQ(utimensat(AT_FDCWD, (mnt + "/dir").c_str(), ts, 0), 0);
  Unmount(mnt);
  ASSERT_OK(Commit("meta", "meta-active"));

  auto m2 = ASSERT_OK_R(Prepare("meta-child", "meta"));
  std::string c = Mount(m2);
  struct stat st {
  }, hst{};
  ASSERT_EQ(lstat((c + "/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);
  EXPECT_EQ(st.st_mode & 07777, 04751u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1600000000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 123456789);
  EXPECT_EQ(st.st_nlink, 2u);
  ASSERT_EQ(lstat((c + "/hard").c_str(), &hst), 0);
  EXPECT_EQ(st.st_ino, hst.st_ino);
  char buf[16] = {};
  EXPECT_EQ(getxattr((c + "/f").c_str(), "user.berth", buf, sizeof buf), 2);
  EXPECT_STREQ(buf, "v1");
  EXPECT_EQ(fs::read_symlink(c + "/sym"), "f");
  ASSERT_EQ(lstat((c + "/null").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(1, 3));
  ASSERT_EQ(lstat((c + "/fifo").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  ASSERT_EQ(lstat((c + "/dir").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 01777u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1600000000);
  EXPECT_EQ(Slurp(c + "/hard"), "data");
}

TEST_P(SnapshotterConformance, CommitAndRemoveRules) {
  ASSERT_OK_R(Prepare("p-active"));
  ASSERT_OK(Commit("p", "p-active"));
  // The active key is gone after commit; committing twice fails.
  EXPECT_EQ(Commit("p2", "p-active").code(), StatusCode::kNotFound);
  EXPECT_EQ(Commit("p3", "p").code(), StatusCode::kFailedPrecondition);
  ASSERT_OK_R(View("v", "p"));
  EXPECT_EQ(Commit("v-committed", "v").code(), StatusCode::kFailedPrecondition);
  // A committed name is taken; so is an active key.
  ASSERT_OK_R(Prepare("c-active", "p"));
  EXPECT_EQ(Prepare("c-active", "p").status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(Prepare("p").status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(Commit("p", "c-active").code(), StatusCode::kAlreadyExists);
  // Only committed snapshots are parents.
  EXPECT_EQ(Prepare("x", "c-active").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(View("y", "v").status().code(), StatusCode::kNotFound);
  // The parent cannot go while it has children.
  EXPECT_EQ(Remove("p").code(), StatusCode::kFailedPrecondition);
  ASSERT_OK(Remove("c-active"));
  EXPECT_EQ(Remove("p").code(), StatusCode::kFailedPrecondition);  // the view
  ASSERT_OK(Remove("v"));
  ASSERT_OK(Remove("p"));
  EXPECT_TRUE(Walk().empty());
  // Keys can be used again after removal, and nothing is left on disk.
  auto m = ASSERT_OK_R(Prepare("p"));
  std::string mnt = Mount(m);
  EXPECT_TRUE(fs::is_empty(mnt));
  Unmount(mnt);
  ASSERT_OK(Remove("p"));
  EXPECT_TRUE(fs::is_empty(PluginRoot() + "/snapshots"));
  EXPECT_TRUE(fs::is_empty(PluginRoot() + "/tmp"));
}

TEST_P(SnapshotterConformance, ErrorsForBadKeysAndParents) {
  EXPECT_EQ(Prepare("").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(View("", "").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Prepare("k", "no-such-parent").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(View("k", "no-such-parent").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Mounts("nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Usage("nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Remove("nope").code(), StatusCode::kNotFound);
  EXPECT_EQ(Commit("n", "nope").code(), StatusCode::kNotFound);
  EXPECT_EQ(Commit("", "nope").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Mounts("").status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Walk().empty());  // failed calls left nothing behind
  EXPECT_TRUE(fs::is_empty(PluginRoot() + "/snapshots"));
}

TEST_P(SnapshotterConformance, UsageCountsBytesAndHardLinksOnce) {
  auto m = ASSERT_OK_R(Prepare("u"));
  auto before = ASSERT_OK_R(Usage("u"));
  EXPECT_GE(before.inodes(), 1);
  std::string mnt = Mount(m);
  constexpr size_t kBytes = 1 << 20;
  std::string data(kBytes, '\0');
  for (size_t i = 0; i < kBytes; ++i) data[i] = static_cast<char>(i * 7 + 3);
  Spit(mnt + "/big", data);
  sync();
  auto after = ASSERT_OK_R(Usage("u"));
  EXPECT_GE(after.size_bytes() - before.size_bytes(), static_cast<int64_t>(kBytes));
  EXPECT_EQ(after.inodes() - before.inodes(), 1);
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(link((mnt + "/big").c_str(), (mnt + "/link" + std::to_string(i)).c_str()), 0);
  }
  auto linked = ASSERT_OK_R(Usage("u"));
  EXPECT_EQ(linked.inodes(), after.inodes());
  EXPECT_LT(linked.size_bytes(), after.size_bytes() + static_cast<int64_t>(kBytes));
  Unmount(mnt);
  ASSERT_OK(Commit("u-done", "u"));
  // A child's usage is its own layer: a new file, not the parent's megabyte (overlay); native
  // copies the parent, so only the lower bound is common.
  auto cm = ASSERT_OK_R(Prepare("u-child", "u-done"));
  std::string cmnt = Mount(cm);
  Spit(cmnt + "/small", std::string(8192, 'x'));
  sync();
  auto child = ASSERT_OK_R(Usage("u-child"));
  EXPECT_GE(child.size_bytes(), 8192);
  if (GetParam().name == "overlay") {
    EXPECT_LT(child.size_bytes(), static_cast<int64_t>(kBytes));
  }
}

TEST_P(SnapshotterConformance, WalkWithLabelFilters) {
  ASSERT_OK_R(Prepare("a", "", {{"role", "layer"}, {"team", "x"}}));
  ASSERT_OK_R(Prepare("b", "", {{"role", "layer"}}));
  ASSERT_OK_R(Prepare("c", "", {{"role", "rootfs"}}));
  ASSERT_OK(Commit("a-done", "a", {{"role", "layer"}, {"committed", "yes"}}));
  auto all = Walk();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all["a-done"].kind(), pv1::SNAPSHOT_KIND_COMMITTED);
  EXPECT_EQ(all["b"].kind(), pv1::SNAPSHOT_KIND_ACTIVE);
  EXPECT_GT(all["b"].created_at_unix_nano(), 0);
  EXPECT_EQ(all["a-done"].labels().at("committed"), "yes");
  ASSERT_OK_R(View("v", "a-done"));
  all = Walk();
  EXPECT_EQ(all["v"].kind(), pv1::SNAPSHOT_KIND_VIEW);
  EXPECT_EQ(all["v"].parent(), "a-done");
  auto layers = Walk({{"role", "layer"}});
  EXPECT_EQ(layers.size(), 2u);
  EXPECT_TRUE(layers.count("a-done") && layers.count("b"));
  EXPECT_EQ(Walk({{"role", "layer"}, {"committed", "yes"}}).size(), 1u);
  EXPECT_EQ(Walk({{"role", "rootfs"}}).count("c"), 1u);
  EXPECT_TRUE(Walk({{"role", "none"}}).empty());
}

TEST_P(SnapshotterConformance, SnapshotsSurviveRestartAndLeftoversAreCleaned) {
  auto m = ASSERT_OK_R(Prepare("base-active", "", {{"k", "v"}}));
  std::string mnt = Mount(m);
  Spit(mnt + "/file", "persisted");
  Unmount(mnt);
  ASSERT_OK(Commit("base", "base-active", {{"k", "v"}}));
  ASSERT_OK_R(Prepare("work", "base"));
  auto before = Walk();

  // What a crash halfway through Prepare or Remove leaves behind.
  std::string root = PluginRoot();
  fs::create_directories(root + "/tmp/9999/fs/half");
  fs::create_directories(root + "/snapshots/8888/fs");
  Spit(root + "/snapshots/8888/fs/orphan", "x");
  Spit(root + "/.metadata.json.tmp-abcdef", "{");

  Start();  // destroys the instance and makes a new one on the same root
  auto after = Walk();
  ASSERT_EQ(after.size(), before.size());
  for (const auto& [name, info] : before) {
    ASSERT_TRUE(after.count(name)) << name;
    EXPECT_EQ(after[name].kind(), info.kind());
    EXPECT_EQ(after[name].parent(), info.parent());
    EXPECT_EQ(after[name].created_at_unix_nano(), info.created_at_unix_nano());
  }
  EXPECT_EQ(after["base"].labels().at("k"), "v");
  EXPECT_FALSE(fs::exists(root + "/tmp/9999"));
  EXPECT_FALSE(fs::exists(root + "/snapshots/8888"));
  EXPECT_FALSE(fs::exists(root + "/.metadata.json.tmp-abcdef"));
  auto wm = ASSERT_OK_R(Mounts("work"));
  std::string wmnt = Mount(wm);
  EXPECT_EQ(Slurp(wmnt + "/file"), "persisted");
  // New snapshots do not reuse the ids of the old ones.
  ASSERT_OK_R(Prepare("new"));
  EXPECT_EQ(Slurp(wmnt + "/file"), "persisted");
  EXPECT_EQ(Remove("base").code(), StatusCode::kFailedPrecondition);
}

TEST_P(SnapshotterConformance, ConcurrentPreparesOfOneKey) {
  ASSERT_OK_R(Prepare("p-active"));
  ASSERT_OK(Commit("p", "p-active"));
  constexpr int kThreads = 8;
  std::vector<Status> results(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      results[i] = Prepare(i % 2 ? "same" : "own-" + std::to_string(i), "p").status();
    });
  }
  for (auto& t : threads) t.join();
  int ok_same = 0;
  for (int i = 0; i < kThreads; ++i) {
    if (i % 2 == 0) {
      EXPECT_TRUE(results[i].ok()) << results[i].ToString();
    } else if (results[i].ok()) {
      ++ok_same;
    } else {
      EXPECT_EQ(results[i].code(), StatusCode::kAlreadyExists);
    }
  }
  EXPECT_EQ(ok_same, 1);
  EXPECT_EQ(Walk().size(), 1u + kThreads / 2 + 1);
}

TEST_P(SnapshotterConformance, HundredLayerChainMounts) {
  // A short root (config "root") keeps 100 lowerdirs inside the one-page mount option limit.
  char tmpl[] = "/tmp/bsXXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string short_root = tmpl;
  Start({{"root", short_root}});
  std::string parent;
  for (int i = 0; i < 100; ++i) {
    std::string key = "l" + std::to_string(i);
    auto m = ASSERT_OK_R(Prepare(key + "-a", parent));
    std::string target = UnpackTarget(m);
    ASSERT_FALSE(target.empty()) << i;
    Spit(target + "/f" + std::to_string(i), std::to_string(i));
    Spit(target + "/top", std::to_string(i));
    ASSERT_OK(Commit(key, key + "-a"));
    parent = key;
  }
  auto m = ASSERT_OK_R(Prepare("rootfs", parent));
  if (GetParam().name == "overlay") {
    ASSERT_EQ(m[0].type(), "overlay");
    size_t len = 0;
    for (const auto& o : m[0].options()) len += o.size() + 1;
    EXPECT_LT(len, 4096u);
  }
  std::string mnt = Mount(m);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(Slurp(mnt + "/f" + std::to_string(i)), std::to_string(i));
  EXPECT_EQ(Slurp(mnt + "/top"), "99");
  Unmount(mnt);
  Start();  // release the short root before removing it
  EXPECT_EQ(system(("rm -rf " + short_root).c_str()), 0);
}

TEST_P(SnapshotterConformance, DeepChainOnLongRootFitsOrIsRefusedCleanly) {
  // The default root under the test's TempDir is long (~80 bytes per layer path): overlay's
  // one-page option stops fitting well before 100 layers and must refuse the next Prepare with
  // RESOURCE_EXHAUSTED, creating nothing. native has no such limit.
  std::string parent;
  if (GetParam().name != "overlay") {
    for (int i = 0; i < 60; ++i) {
      std::string key = "l" + std::to_string(i);
      ASSERT_OK_R(Prepare(key + "-a", parent));
      ASSERT_OK(Commit(key, key + "-a"));
      parent = key;
    }
    auto v = ASSERT_OK_R(View("deep-view", parent));
    EXPECT_TRUE(fs::exists(Mount(v)));
    return;
  }
  Status refused;
  int depth = 0;
  for (; depth < 200; ++depth) {
    std::string key = "l" + std::to_string(depth);
    auto m = Prepare(key + "-a", parent);
    if (!m.ok()) {
      refused = m.status();
      break;
    }
    ASSERT_OK(Commit(key, key + "-a"));
    parent = key;
  }
  ASSERT_EQ(refused.code(), StatusCode::kResourceExhausted) << refused.ToString();
  EXPECT_NE(refused.message().find("4095"), std::string::npos) << refused.message();
  EXPECT_FALSE(Walk().count("l" + std::to_string(depth) + "-a"));
  // The deepest accepted chain really mounts.
  auto v = ASSERT_OK_R(View("deep-view", parent));
  std::string mnt = Mount(v);
  EXPECT_TRUE(fs::exists(mnt));
}

INSTANTIATE_TEST_SUITE_P(
    Plugins, SnapshotterConformance,
    ::testing::Values(Flavor{"overlay", "snapshotter-overlay.so", WhiteoutMode::kOverlay},
                      Flavor{"native", "snapshotter-native.so", WhiteoutMode::kDelete}),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace berth::snapshotter_testing
