// Unpacking the project's real test images (scripts/make-test-images) as root, in both
// whiteout modes; kOverlay layers are then mounted with overlayfs and the merged view must equal
// the kDelete result. Also ownership, id offsets, devices and trusted xattrs (need root).

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cri/image/unpack/layer_unpacker.h"
#include "tests/support/test_env.h"
#include "tests/unit/unpack_tar_builder.h"
#include "tests/unit/unpack_test_util.h"

namespace berth {
namespace {

namespace fs = std::filesystem;
using ::berth::testing::Slurp;
using ::berth::testing::TarBuilder;
using ::berth::testing::TarMeta;
using ::berth::testing::TempDir;
using ::berth::testing::WithPerm;

struct Layer {
  std::string blob, media_type, diff_id;
};

// The layers of OUT/<name>, in order, with the config's diff_ids.
std::vector<Layer> ReadImage(const std::string& layout) {
  auto blob = [&](const std::string& digest) {
    return layout + "/blobs/sha256/" + digest.substr(std::string("sha256:").size());
  };
  auto index = nlohmann::json::parse(Slurp(layout + "/index.json"));
  auto manifest = nlohmann::json::parse(Slurp(blob(index["manifests"][0]["digest"])));
  auto config = nlohmann::json::parse(Slurp(blob(manifest["config"]["digest"])));
  std::vector<Layer> out;
  for (size_t i = 0; i < manifest["layers"].size(); ++i) {
    const auto& l = manifest["layers"][i];
    out.push_back({blob(l["digest"]), l["mediaType"], config["rootfs"]["diff_ids"][i]});
  }
  return out;
}

// Path → "mode uid:gid size mtime [-> target | content]" for the whole tree (root excluded).
std::map<std::string, std::string> Describe(const std::string& root) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    std::string p = e.path().string();
    struct stat st {};
    lstat(p.c_str(), &st);
    std::string d = std::to_string(st.st_mode) + " " + std::to_string(st.st_uid) + ":" +
                    std::to_string(st.st_gid) + " " + std::to_string(st.st_mtim.tv_sec) + "." +
                    std::to_string(st.st_mtim.tv_nsec);
    if (S_ISLNK(st.st_mode)) d += " -> " + fs::read_symlink(p).string();
    if (S_ISREG(st.st_mode)) d += " " + std::to_string(std::hash<std::string>()(Slurp(p)));
    out[p.substr(root.size())] = d;
  }
  return out;
}

class UnpackImageTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    images_ = new TempDir();
    std::string cmd = std::string(BERTH_MAKE_TEST_IMAGES) + " " + images_->path() + " >/dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  static void TearDownTestSuite() {
    delete images_;
    images_ = nullptr;
  }
  void SetUp() override { BERTH_REQUIRE_ROOT(); }
  void TearDown() override {
    for (const std::string& m : mounts_) umount2(m.c_str(), MNT_DETACH);
  }

  UnpackStats MustUnpack(const Layer& l, const std::string& dir, UnpackOptions o) {
    o.media_type = l.media_type;
    auto r = UnpackLayerFile(l.blob, dir, o, log_);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : UnpackStats{};
  }
  std::string Dir(const std::string& name) {
    std::string d = tmp_ / name;
    fs::create_directories(d);
    return d;
  }

  static TempDir* images_;
  TempDir tmp_;
  Logger log_{LogLevel::kError};
  std::vector<std::string> mounts_;
};
TempDir* UnpackImageTest::images_ = nullptr;

TEST_F(UnpackImageTest, BusyboxInDeleteMode) {
  auto layers = ReadImage(*images_ / "busybox");
  ASSERT_EQ(layers.size(), 1u);
  std::string root = Dir("busybox");
  UnpackOptions o;
  o.devices = DevicePolicy::kCreate;
  for (const ResolverKind kind : {ResolverKind::kOpenat2, ResolverKind::kFallback}) {
    fs::remove_all(root);
    fs::create_directories(root);
    o.resolver = kind;
    UnpackStats s = MustUnpack(layers[0], root, o);
    EXPECT_EQ(s.diff_id, layers[0].diff_id);
    EXPECT_EQ(s.compression, Compression::kGzip);
    struct stat st {};
    ASSERT_EQ(lstat((root + "/bin/busybox").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0755u);
    EXPECT_EQ(st.st_uid, 0u);
    EXPECT_EQ(st.st_mtim.tv_sec, 1700000000);
    EXPECT_EQ(st.st_size, static_cast<off_t>(fs::file_size("/bin/busybox")));
    EXPECT_EQ(fs::read_symlink(root + "/bin/sh"), "busybox");
    ASSERT_EQ(lstat((root + "/tmp").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 01777u);
    EXPECT_EQ(st.st_mtim.tv_sec, 1700000000);  // directory times fixed up at the end
    ASSERT_EQ(lstat((root + "/root").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0700u);
    EXPECT_NE(Slurp(root + "/etc/passwd").find("berth:x:1000:1000"), std::string::npos);
  }
}

TEST_F(UnpackImageTest, LayeredDeleteModeAndOverlayModeAgree) {
  auto layers = ReadImage(*images_ / "layered");
  ASSERT_EQ(layers.size(), 3u);
  // kDelete: all layers into one merged directory.
  std::string merged = Dir("merged");
  UnpackOptions del;
  for (const Layer& l : layers) EXPECT_EQ(MustUnpack(l, merged, del).diff_id, l.diff_id);
  EXPECT_EQ(Slurp(merged + "/data/keep/file"), "kept\n");
  EXPECT_FALSE(fs::exists(merged + "/data/gone"));
  EXPECT_FALSE(fs::exists(merged + "/data/opaque/old"));
  EXPECT_EQ(Slurp(merged + "/data/opaque/new"), "new in opaque\n");
  EXPECT_EQ(Slurp(merged + "/data/zstd-file"), "from zstd layer\n");
  EXPECT_EQ(fs::read_symlink(merged + "/data/symlink"), "keep/file");
  EXPECT_TRUE(fs::equivalent(merged + "/data/hardlink", merged + "/data/hardlink-target"));
  for (const auto& e : fs::recursive_directory_iterator(merged)) {
    EXPECT_FALSE(e.path().filename().string().starts_with(".wh.")) << e.path();
  }

  // kOverlay: one upperdir per layer, whiteouts as 0/0 char devices and opaque xattrs.
  UnpackOptions ov;
  ov.whiteouts = WhiteoutMode::kOverlay;
  std::vector<std::string> dirs;
  for (size_t i = 0; i < layers.size(); ++i) {
    dirs.push_back(Dir("layer" + std::to_string(i)));
    EXPECT_EQ(MustUnpack(layers[i], dirs.back(), ov).diff_id, layers[i].diff_id);
  }
  struct stat st {};
  ASSERT_EQ(lstat((dirs[2] + "/data/gone").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(0, 0));
  char v[4] = {};
  EXPECT_EQ(getxattr((dirs[2] + "/data/opaque").c_str(), "trusted.overlay.opaque", v, 4), 1);
  EXPECT_EQ(v[0], 'y');
  EXPECT_FALSE(fs::exists(dirs[2] + "/data/opaque/.wh..wh..opq"));

  std::string mnt = Dir("mnt");
  std::string opts = "lowerdir=" + dirs[2] + ":" + dirs[1] + ":" + dirs[0];
  ASSERT_EQ(mount("overlay", mnt.c_str(), "overlay", MS_RDONLY, opts.c_str()), 0)
      << strerror(errno);
  mounts_.push_back(mnt);
  auto want = Describe(merged);
  EXPECT_GT(want.size(), 200u);  // busybox applets and all
  EXPECT_EQ(Describe(mnt), want);
}

TEST_F(UnpackImageTest, OwnershipOffsetsDevicesAndTrustedXattrs) {
  TarMeta owned = WithPerm(04755);
  owned.uid = 1000;
  owned.gid = 2000;
  owned.xattrs = {{"trusted.berth", "t"}, {"user.berth", "u"}};
  TarMeta dev = WithPerm(0666);
  TarBuilder t;
  t.File("suid", "x", owned).Device("dev/null", AE_IFCHR, 1, 3, dev).Symlink("l", "suid", owned);
  std::string blob = tmp_ / "owned.tar";
  t.WriteTo(blob);
  std::string root = Dir("owned");
  UnpackOptions o;
  o.devices = DevicePolicy::kCreate;
  o.allow_trusted_xattrs = true;
  o.uid_offset = 100000;
  o.gid_offset = 200000;
  auto r = UnpackLayerFile(blob, root, o, log_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  struct stat st {};
  ASSERT_EQ(lstat((root + "/suid").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 101000u);
  EXPECT_EQ(st.st_gid, 202000u);
  EXPECT_EQ(st.st_mode & 07777, 04755u);  // setuid survives: chmod comes after chown
  char v[4] = {};
  EXPECT_EQ(getxattr((root + "/suid").c_str(), "trusted.berth", v, 4), 1);
  ASSERT_EQ(lstat((root + "/l").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 101000u);
  ASSERT_EQ(lstat((root + "/dev/null").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(1, 3));
  EXPECT_EQ(st.st_mode & 07777, 0666u);
}

}  // namespace
}  // namespace berth
