// cri/container/image_volumes: resolving image_sub_path inside an image root (symlinks followed
// while they stay inside, anything that leads out refused), the snapshot key, and validation.
// A temp directory stands in for the mounted image; no root, no mounts.

#include "cri/container/image_volumes.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "tests/support/test_env.h"

namespace berth::container {
namespace {

namespace fs = std::filesystem;

class ImageSubPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_ / "image";
    fs::create_directories(root_ + "/data/dir/nested");
    fs::create_directories(root_ + "/links");
    fs::create_directories(dir_ / "outside/secret");  // what an escape would reach
    std::ofstream(root_ + "/data/file") << "x";
    Link("../data/dir", "links/inside");
    Link("inside", "links/chain");
    Link("../links/../data/dir/nested", "links/dotdot-inside");
    Link("../../outside/secret", "links/escape");
    Link("../data/../../outside", "links/escape-late");
    Link("/data/dir", "links/absolute");
    Link("loop", "links/loop");
    Link("../data/file", "links/to-file");
    Link("../nothing", "links/dangling");
    fd_ = ::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(fd_, 0);
  }
  void TearDown() override { ::close(fd_); }

  void Link(const std::string& target, const std::string& name) {
    fs::create_symlink(target, root_ + "/" + name);
  }
  // The inode the sub path resolves to, or the error.
  Result<ino_t> Ino(const std::string& sub) {
    Result<UniqueFd> fd = ResolveImageSubPath(fd_, sub);
    if (!fd.ok()) return fd.status();
    struct stat st {};
    EXPECT_EQ(::fstat(fd->get(), &st), 0);
    return st.st_ino;
  }
  ino_t InoOf(const std::string& rel) {
    struct stat st {};
    EXPECT_EQ(::stat((root_ + "/" + rel).c_str(), &st), 0) << rel;
    return st.st_ino;
  }

  testing::TempDir dir_;
  std::string root_;
  int fd_ = -1;
};

TEST_F(ImageSubPathTest, PlainDirectoriesAndTheRoot) {
  EXPECT_EQ(*Ino(""), InoOf("."));
  EXPECT_EQ(*Ino("."), InoOf("."));
  EXPECT_EQ(*Ino("data/dir"), InoOf("data/dir"));
  EXPECT_EQ(*Ino("data//dir/"), InoOf("data/dir"));
  EXPECT_EQ(*Ino("./data/./dir/nested"), InoOf("data/dir/nested"));
}

TEST_F(ImageSubPathTest, SymlinksThatStayInsideAreFollowed) {
  EXPECT_EQ(*Ino("links/inside"), InoOf("data/dir"));
  EXPECT_EQ(*Ino("links/chain/nested"), InoOf("data/dir/nested"));
  EXPECT_EQ(*Ino("links/dotdot-inside"), InoOf("data/dir/nested"));
}

TEST_F(ImageSubPathTest, LeavingTheImageIsRefused) {
  for (const char* sub :
       {"links/escape", "links/escape-late", "links/absolute", "data/../links/escape", ".."}) {
    Result<ino_t> r = Ino(sub);
    ASSERT_FALSE(r.ok()) << sub;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << sub;
    EXPECT_NE(r.status().message().find("escapes the image"), std::string::npos)
        << r.status().message();
  }
}

TEST_F(ImageSubPathTest, MissingNonDirectoryAndLoops) {
  EXPECT_EQ(Ino("data/missing").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Ino("links/dangling").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Ino("data/file").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Ino("data/file/below").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Ino("links/to-file").status().code(), StatusCode::kInvalidArgument);
  Result<ino_t> loop = Ino("links/loop");
  EXPECT_EQ(loop.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(loop.status().message().find("too many symlinks"), std::string::npos);
}

TEST(ImageVolumesTest, SnapshotKeyDerivesFromContainerAndIndex) {
  EXPECT_EQ(ImageVolumeSnapshotKey("abc", 2), "ctr-abc-imgvol-2");
  EXPECT_NE(ImageVolumeSnapshotKey("abc", 1), ImageVolumeSnapshotKey("abc", 10));
}

TEST(ImageVolumesTest, ImageRefWinsOverImage) {
  runtime::v1::Mount m;
  m.set_container_path("/v");
  EXPECT_EQ(ImageVolumeRef(m), "");
  m.mutable_image()->set_image("busybox");
  EXPECT_EQ(ImageVolumeRef(m), "busybox");
  m.mutable_image()->set_image_ref("sha256:abc");
  EXPECT_EQ(ImageVolumeRef(m), "sha256:abc");
  m.mutable_image()->clear_image();
  EXPECT_EQ(ImageVolumeRef(m), "sha256:abc");
  EXPECT_TRUE(ValidateImageVolumeMount(m).ok());
}

TEST(ImageVolumesTest, ValidateMount) {
  runtime::v1::Mount m;
  m.set_container_path("/v");
  m.mutable_image()->set_image("busybox");
  EXPECT_TRUE(ValidateImageVolumeMount(m).ok());
  m.set_image_sub_path("a/b");
  EXPECT_TRUE(ValidateImageVolumeMount(m).ok());
  m.set_image_sub_path("a/../b");
  EXPECT_EQ(ValidateImageVolumeMount(m).code(), StatusCode::kInvalidArgument);
  m.set_image_sub_path("/a");
  EXPECT_EQ(ValidateImageVolumeMount(m).code(), StatusCode::kInvalidArgument);
  m.set_image_sub_path("");
  m.set_host_path("/x");
  EXPECT_EQ(ValidateImageVolumeMount(m).code(), StatusCode::kInvalidArgument);
  runtime::v1::Mount host;
  host.set_container_path("/h");
  host.set_host_path("/srv");
  EXPECT_TRUE(ValidateImageVolumeMount(host).ok());
  host.set_image_sub_path("x");
  EXPECT_EQ(ValidateImageVolumeMount(host).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace berth::container
