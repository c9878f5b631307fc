// UnpackLayer without root: entry types, metadata, compression detection, diff_id, whiteouts
// in kDelete mode, replacement rules, corrupt input.

#include <openssl/evp.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cri/image/unpack/layer_unpacker.h"
#include "tests/support/test_env.h"
#include "tests/unit/unpack_tar_builder.h"
#include "tests/unit/unpack_test_util.h"

namespace berth {
namespace {

namespace fs = std::filesystem;
using ::berth::testing::Slurp;
using ::berth::testing::Spit;
using ::berth::testing::TarBuilder;
using ::berth::testing::TarMeta;
using ::berth::testing::TempDir;
using ::berth::testing::WithPerm;

std::string Sha256(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  std::string hex = "sha256:";
  for (unsigned i = 0; i < len; ++i) {
    static constexpr char k[] = "0123456789abcdef";
    hex += k[md[i] >> 4];
    hex += k[md[i] & 15];
  }
  return hex;
}

struct stat LStat(const std::string& p) {
  struct stat st {};
  EXPECT_EQ(lstat(p.c_str(), &st), 0) << p;
  return st;
}

class UnpackLayerTest : public ::testing::Test {
 protected:
  UnpackLayerTest() {
    root_ = tmp_ / "root";
    fs::create_directories(root_);
    opts_.preserve_ownership = false;
  }
  Result<UnpackStats> UnpackBlob(const std::string& blob) {
    std::string path = tmp_ / ("blob" + std::to_string(n_++));
    Spit(path, blob);
    return UnpackLayerFile(path, root_, opts_, log_);
  }
  Result<UnpackStats> Unpack(const TarBuilder& t) { return UnpackBlob(t.Build()); }

  TempDir tmp_;
  std::string root_;
  UnpackOptions opts_;
  std::vector<std::string> lines_;
  Logger log_{LogLevel::kWarn, [this](std::string_view l) { lines_.emplace_back(l); }};
  int n_ = 0;
};

TEST_F(UnpackLayerTest, EntryTypesAndMetadata) {
  TarMeta exe = WithPerm(02755);
  exe.mtime = 1600000000;
  exe.mtime_ns = 123456789;
  TarMeta dir = WithPerm(0750);
  dir.mtime = 1500000000;
  dir.mtime_ns = 42;
  TarMeta sticky = WithPerm(01777);
  auto r = Unpack(TarBuilder()
                      .Dir("./", WithPerm(0700))
                      .Dir("d", dir)
                      .File("d/exe", "#!/bin/sh\n", exe)
                      .File("d/implicit/deep/file", "made parents")
                      .Symlink("d/link", "../nowhere/at/all")
                      .Hardlink("d/hard", "d/exe")
                      .Fifo("d/fifo", WithPerm(0600))
                      .Dir("tmp", sticky));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->entries, 8u);
  EXPECT_EQ(r->bytes_written, 10u + 12u);
  EXPECT_EQ(Slurp(root_ + "/d/exe"), "#!/bin/sh\n");
  struct stat st = LStat(root_ + "/d/exe");
  EXPECT_EQ(st.st_mode & 07777, 02755u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1600000000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 123456789);
  EXPECT_EQ(LStat(root_ + "/d/hard").st_ino, st.st_ino);
  EXPECT_EQ(fs::read_symlink(root_ + "/d/link"), "../nowhere/at/all");
  EXPECT_TRUE(S_ISFIFO(LStat(root_ + "/d/fifo").st_mode));
  EXPECT_EQ(LStat(root_ + "/tmp").st_mode & 07777, 01777u);
  struct stat d = LStat(root_ + "/d");  // set after its children were written
  EXPECT_EQ(d.st_mode & 07777, 0750u);
  EXPECT_EQ(d.st_mtim.tv_sec, 1500000000);
  EXPECT_EQ(d.st_mtim.tv_nsec, 42);
  EXPECT_EQ(Slurp(root_ + "/d/implicit/deep/file"), "made parents");
  EXPECT_NE(LStat(root_).st_mode & 07777, 0700u);  // "./" is the snapshotter's business
}

TEST_F(UnpackLayerTest, CompressionsGiveTheSameTreeAndDiffId) {
  TarBuilder t;
  std::string big(300000, 'x');
  for (size_t i = 0; i < big.size(); i += 7) big[i] = static_cast<char>('a' + i % 26);
  t.Dir("etc").File("etc/big", big).File("etc/small", "s");
  const std::string want = Sha256(t.Build("none"));
  for (const char* c : {"none", "gzip", "zstd"}) {
    SCOPED_TRACE(c);
    for (const auto& e : fs::directory_iterator(root_)) fs::remove_all(e.path());
    auto r = UnpackBlob(t.Build(c));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->diff_id, want);
    EXPECT_EQ(CompressionName(r->compression), c);
    EXPECT_EQ(r->tar_bytes, t.Build("none").size());
    EXPECT_EQ(Slurp(root_ + "/etc/big"), big);
  }
}

TEST_F(UnpackLayerTest, MediaTypes) {
  TarBuilder t;
  t.File("f", "x");
  opts_.media_type = "application/vnd.oci.image.layer.v1.tar+zstd";
  auto ok = UnpackBlob(t.Build("zstd"));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_TRUE(lines_.empty());
  opts_.media_type = "application/vnd.docker.image.rootfs.diff.tar.gzip";
  auto mislabelled = UnpackBlob(t.Build("zstd"));  // the bytes win, with a warning
  ASSERT_TRUE(mislabelled.ok()) << mislabelled.status().ToString();
  EXPECT_EQ(mislabelled->compression, Compression::kZstd);
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_NE(lines_[0].find("disagrees"), std::string::npos);
  opts_.media_type = "application/vnd.oci.image.config.v1+json";
  EXPECT_EQ(UnpackBlob(t.Build()).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(UnpackLayerTest, CorruptAndTruncatedStreams) {
  TarBuilder t;
  t.File("f", std::string(100000, 'q'));
  std::string gz = t.Build("gzip");
  std::string bad = gz;
  bad[bad.size() - 6] ^= 0x55;  // the CRC32 in the trailer
  EXPECT_EQ(UnpackBlob(bad).status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(UnpackBlob(gz.substr(0, gz.size() / 2)).status().code(), StatusCode::kDataLoss);
  std::string zst = t.Build("zstd");
  EXPECT_EQ(UnpackBlob(zst.substr(0, zst.size() - 3)).status().code(), StatusCode::kDataLoss);
  EXPECT_FALSE(UnpackBlob("this is not a tar at all, not even close................").ok());
}

TEST_F(UnpackLayerTest, WhiteoutsInDeleteMode) {
  ASSERT_TRUE(Unpack(TarBuilder()
                         .File("a/x", "x")
                         .File("a/y", "y")
                         .File("d/sub/f", "f")
                         .File("o/old", "old")
                         .File("o/keep/lower", "lower")
                         .File("o/.hidden", "h"))
                  .ok());
  auto r = Unpack(TarBuilder()
                      .File("a/.wh.x", "")
                      .File(".wh.d", "")
                      .File(".wh.never-existed", "")
                      .File("o/-early", "written before the marker")
                      .Dir("o")
                      .File("o/.wh..wh..opq", "")
                      .Dir("o/keep")
                      .File("o/keep/new", "new")
                      .File("o/new", "new")
                      .File("same", "s")
                      .File(".wh.same", "")
                      .File(".wh..wh.plnk", ""));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(fs::exists(root_ + "/a/x"));
  EXPECT_TRUE(fs::exists(root_ + "/a/y"));
  EXPECT_FALSE(fs::exists(root_ + "/d"));
  EXPECT_FALSE(fs::exists(root_ + "/o/old"));
  EXPECT_FALSE(fs::exists(root_ + "/o/.hidden"));
  EXPECT_FALSE(fs::exists(root_ + "/o/keep/lower"));
  EXPECT_EQ(Slurp(root_ + "/o/keep/new"), "new");
  EXPECT_EQ(Slurp(root_ + "/o/new"), "new");
  EXPECT_EQ(Slurp(root_ + "/o/-early"), "written before the marker");
  EXPECT_EQ(Slurp(root_ + "/same"), "s");  // a whiteout does not hide its own layer
  for (const auto& e : fs::recursive_directory_iterator(root_)) {
    EXPECT_FALSE(e.path().filename().string().starts_with(".wh.")) << e.path();
  }
  EXPECT_EQ(r->skipped, 1u);  // .wh..wh.plnk
}

TEST_F(UnpackLayerTest, LaterEntriesReplaceEarlierOnes) {
  ASSERT_TRUE(Unpack(TarBuilder()
                         .File("file-then-dir", "f")
                         .File("dir-then-file/child", "c")
                         .File("dir-stays/child", "c")
                         .Symlink("link-then-file", "/etc/passwd"))
                  .ok());
  // Like tar, an implicit parent does not replace a file; a directory entry does.
  EXPECT_EQ(Unpack(TarBuilder().File("file-then-dir/inner", "i")).status().code(),
            StatusCode::kInvalidArgument);
  auto r = Unpack(TarBuilder()
                      .Dir("file-then-dir")
                      .File("file-then-dir/inner", "i")
                      .File("dir-then-file", "now a file")
                      .Dir("dir-stays", WithPerm(0711))
                      .File("link-then-file", "plain"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Slurp(root_ + "/file-then-dir/inner"), "i");
  EXPECT_EQ(Slurp(root_ + "/dir-then-file"), "now a file");
  EXPECT_EQ(Slurp(root_ + "/dir-stays/child"), "c");
  EXPECT_EQ(LStat(root_ + "/dir-stays").st_mode & 07777, 0711u);
  EXPECT_TRUE(S_ISREG(LStat(root_ + "/link-then-file").st_mode));
}

TEST_F(UnpackLayerTest, XattrPolicy) {
  TarMeta m;
  m.xattrs = {{"user.berth", "yes"},
              {"security.selinux", "system_u:object_r:bin_t:s0"},
              {"trusted.x", "no"}};
  auto r = Unpack(TarBuilder().File("f", "x", m));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  char buf[64];
  ssize_t n = getxattr((root_ + "/f").c_str(), "user.berth", buf, sizeof(buf));
  if (n < 0 && errno == ENOTSUP) GTEST_SKIP() << "no user xattrs on this filesystem";
  ASSERT_EQ(n, 3);
  EXPECT_EQ(std::string(buf, 3), "yes");
  EXPECT_LT(getxattr((root_ + "/f").c_str(), "trusted.x", buf, sizeof(buf)), 0);
}

}  // namespace
}  // namespace berth
