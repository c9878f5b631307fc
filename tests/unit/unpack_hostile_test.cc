// Hostile layers: every escape attempt is refused (INVALID_ARGUMENT naming the entry) or
// confined to the target, and a sentinel tree around the target never changes. Runs without
// root (ownership is not preserved here) with both path resolvers.

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <string>

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
using ::berth::testing::TempDir;
using ::berth::testing::TreeSnapshot;

class HostileLayerTest : public ::testing::TestWithParam<ResolverKind> {
 protected:
  void SetUp() override {
    sentinel_ = tmp_ / "s";
    root_ = sentinel_ + "/x/root";
    fs::create_directories(root_);
    fs::create_directories(sentinel_ + "/etc");
    Spit(sentinel_ + "/etc/passwd", "root:x:0:0::/root:/bin/sh\n");
    Spit(sentinel_ + "/important", "keep me");
    fs::create_directories(sentinel_ + "/dir/sub");
    Spit(sentinel_ + "/dir/sub/f", "keep me too");
    before_ = TreeSnapshot(sentinel_, root_);
    opts_.preserve_ownership = false;
    opts_.resolver = GetParam();
  }
  void TearDown() override {
    EXPECT_EQ(TreeSnapshot(sentinel_, root_), before_) << "something outside the root changed";
  }
  Result<UnpackStats> Unpack(const TarBuilder& tar, const std::string& compression = "none") {
    std::string blob = tmp_ / ("layer" + std::to_string(n_++));
    tar.WriteTo(blob, compression);
    return UnpackLayerFile(blob, root_, opts_, log_);
  }
  void ClearRoot() {
    for (const auto& e : fs::directory_iterator(root_)) fs::remove_all(e.path());
  }
  // Expects a refusal that names `entry` (as it appears, quoted, in the message).
  void ExpectRefused(const Result<UnpackStats>& r, const std::string& entry) {
    ASSERT_FALSE(r.ok()) << "entry " << entry << " was accepted";
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
    EXPECT_NE(r.status().message().find("entry \"" + entry + "\""), std::string::npos)
        << r.status().ToString();
  }

  TempDir tmp_;
  std::string sentinel_, root_;
  std::map<std::string, std::string> before_;
  UnpackOptions opts_;
  Logger log_{LogLevel::kError};
  int n_ = 0;
};

TEST_P(HostileLayerTest, DotDotTraversalIsRefused) {
  ExpectRefused(Unpack(TarBuilder().File("../../etc/evil", "x")), "../../etc/evil");
  ExpectRefused(Unpack(TarBuilder().File("a/../../../etc/evil", "x")), "a/../../../etc/evil");
  ExpectRefused(Unpack(TarBuilder().Dir("../../dir/sub/")), "../../dir/sub/");
  EXPECT_FALSE(fs::exists(sentinel_ + "/etc/evil"));
}

TEST_P(HostileLayerTest, AbsolutePathsLandInsideTheRoot) {
  std::string abs_sentinel = sentinel_ + "/etc/passwd";
  auto r = Unpack(TarBuilder().File("/abs/path", "in").File(abs_sentinel, "shadowed"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Slurp(root_ + "/abs/path"), "in");
  EXPECT_EQ(Slurp(root_ + abs_sentinel), "shadowed");
  EXPECT_FALSE(fs::exists("/abs/path"));
}

TEST_P(HostileLayerTest, WritesThroughSymlinksInTheSameTarAreRefused) {
  ExpectRefused(Unpack(TarBuilder().Symlink("evil", "/").File("evil" + sentinel_ + "/etc/x", "x")),
                "evil" + sentinel_ + "/etc/x");
  ClearRoot();
  ExpectRefused(Unpack(TarBuilder().Symlink("up", "../../..").File("up/etc/evil", "x")),
                "up/etc/evil");
  ClearRoot();
  ExpectRefused(Unpack(TarBuilder().Symlink("d", sentinel_ + "/dir").Dir("d/new/")), "d/new/");
}

TEST_P(HostileLayerTest, SymlinkPlantedByAnEarlierLayerIsNotWrittenThrough) {
  ASSERT_TRUE(Unpack(TarBuilder().Symlink("a", sentinel_ + "/etc")).ok());
  ExpectRefused(Unpack(TarBuilder().File("a/passwd", "pwned")), "a/passwd");
  ExpectRefused(Unpack(TarBuilder().File("a/./passwd", "pwned")), "a/./passwd");
  ExpectRefused(Unpack(TarBuilder().File("a/.wh.passwd", "")), "a/.wh.passwd");
  ExpectRefused(Unpack(TarBuilder().File("a/.wh..wh..opq", "")), "a/.wh..wh..opq");
}

TEST_P(HostileLayerTest, ConfinedModeFollowsSymlinksOnlyInsideTheRoot) {
  opts_.follow_symlinks_in_root = true;
  ASSERT_TRUE(Unpack(TarBuilder().Dir("etc").Symlink("a", "/etc").Symlink("up", "../../..")).ok());
  auto r = Unpack(TarBuilder()
                      .File("a/passwd", "confined")
                      .File("up/etc/evil", "confined too")
                      .File("up/.wh.important", ""));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Slurp(root_ + "/etc/passwd"), "confined");
  EXPECT_EQ(Slurp(root_ + "/etc/evil"), "confined too");
  // A symlink whose target does not exist inside the root is not created through.
  auto dangling = Unpack(TarBuilder().Symlink("d", sentinel_ + "/dir").File("d/new", "x"));
  EXPECT_EQ(dangling.status().code(), StatusCode::kNotFound) << dangling.status().ToString();
}

TEST_P(HostileLayerTest, ReplacingASymlinkNeverWritesThroughIt) {
  auto r = Unpack(TarBuilder()
                      .Symlink("s", sentinel_ + "/important")
                      .File("s", "replaced")
                      .Symlink("d", sentinel_ + "/dir")
                      .Dir("d"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Slurp(root_ + "/s"), "replaced");
  EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(root_ + "/s")));
  EXPECT_TRUE(fs::is_directory(fs::symlink_status(root_ + "/d")));
}

TEST_P(HostileLayerTest, HardlinkEscapesAreRefused) {
  ExpectRefused(Unpack(TarBuilder().Hardlink("h", "../../etc/passwd")), "h");
  ExpectRefused(Unpack(TarBuilder().Hardlink("h", sentinel_ + "/etc/passwd")), "h");
  ExpectRefused(Unpack(TarBuilder().Symlink("s", sentinel_ + "/etc/passwd").Hardlink("h", "s")),
                "h");
  ExpectRefused(
      Unpack(TarBuilder().Symlink("e", "/").Hardlink("h", "e" + sentinel_ + "/etc/passwd")), "h");
  ExpectRefused(Unpack(TarBuilder().Dir("d").Hardlink("h", "d")), "h");
  ExpectRefused(Unpack(TarBuilder().Hardlink("h", "missing")), "h");
  // Fine: a link to a file of this root; writing the name later replaces it, never the inode.
  auto ok = Unpack(TarBuilder().File("f", "orig").Hardlink("h", "f").File("h", "new"));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(Slurp(root_ + "/f"), "orig");
  EXPECT_EQ(Slurp(root_ + "/h"), "new");
}

TEST_P(HostileLayerTest, DevicesFollowThePolicy) {
  ExpectRefused(Unpack(TarBuilder().Device("dev/mem", AE_IFCHR, 1, 1)), "dev/mem");
  ExpectRefused(Unpack(TarBuilder().Device("dev/sda", AE_IFBLK, 8, 0)), "dev/sda");
  opts_.devices = DevicePolicy::kSkip;
  auto r = Unpack(TarBuilder().Device("dev/mem", AE_IFCHR, 1, 1).Fifo("fifo"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->skipped, 1u);
  EXPECT_FALSE(fs::exists(fs::symlink_status(root_ + "/dev/mem")));
  EXPECT_TRUE(fs::is_fifo(root_ + "/fifo"));
}

TEST_P(HostileLayerTest, WhiteoutTricksAreRefused) {
  ExpectRefused(Unpack(TarBuilder().File(".wh.", "")), ".wh.");
  ExpectRefused(Unpack(TarBuilder().File(".wh..", "")), ".wh..");
  ExpectRefused(Unpack(TarBuilder().File(".wh...", "")), ".wh...");
  ExpectRefused(Unpack(TarBuilder().File("a/.wh...", "")), "a/.wh...");
  ExpectRefused(Unpack(TarBuilder().File("../.wh.important", "")), "../.wh.important");
  ExpectRefused(Unpack(TarBuilder().File("../../../.wh..wh..opq", "")), "../../../.wh..wh..opq");
  EXPECT_TRUE(fs::exists(sentinel_ + "/important"));
}

TEST_P(HostileLayerTest, OverlongAndOddNames) {
  std::string deep;
  for (int i = 0; i < 20000; ++i) deep += "a/";
  deep += "f";
  auto r = Unpack(TarBuilder().File(deep, "x"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("bytes long"), std::string::npos);
  EXPECT_LT(r.status().message().size(), 1000u);  // the 40 KB name is cut in the message
  // A newline is a legal file name character: confined, created inside.
  auto nl = Unpack(TarBuilder().File("new\nline", "ok"));
  ASSERT_TRUE(nl.ok()) << nl.status().ToString();
  EXPECT_EQ(Slurp(root_ + "/new\nline"), "ok");
  // ...and a refused name with a newline is escaped in the message (no forged log lines).
  auto bad = Unpack(TarBuilder().File("../x\nlevel=info msg=ok", "x"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().find('\n'), std::string::npos);
  EXPECT_NE(bad.status().message().find("entry \"../x\\nlevel=info msg=ok\""), std::string::npos)
      << bad.status().message();
}

TEST_P(HostileLayerTest, ErrorNamesTheEntryAndStopsTheUnpack) {
  auto r = Unpack(TarBuilder().File("good1", "1").File("../../etc/evil", "x").File("good2", "2"));
  ExpectRefused(r, "../../etc/evil");
  EXPECT_NE(r.status().message().find("climbs above the layer root"), std::string::npos);
  EXPECT_TRUE(fs::exists(root_ + "/good1"));
  EXPECT_FALSE(fs::exists(root_ + "/good2"));
}

TEST_P(HostileLayerTest, OverlayModeRefusesTheSameThings) {
  opts_.whiteouts = WhiteoutMode::kOverlay;
  ExpectRefused(Unpack(TarBuilder().File("../../etc/evil", "x")), "../../etc/evil");
  ExpectRefused(Unpack(TarBuilder().Symlink("a", sentinel_).File("a/.wh.important", "")),
                "a/.wh.important");
  ExpectRefused(Unpack(TarBuilder().File(".wh...", "")), ".wh...");
  ExpectRefused(Unpack(TarBuilder().Device("dev/kmem", AE_IFCHR, 1, 2)), "dev/kmem");
}

TEST_P(HostileLayerTest, TrustedOverlayXattrsFromTheTarAreNeverApplied) {
  opts_.allow_trusted_xattrs = true;
  TarBuilder::Meta m;
  m.xattrs = {{"trusted.overlay.opaque", "y"}, {"trusted.overlay.redirect", "/etc"}};
  auto r = Unpack(TarBuilder().File("f", "x", m));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  char buf[16];
  EXPECT_LT(getxattr((root_ + "/f").c_str(), "trusted.overlay.opaque", buf, sizeof(buf)), 0);
}

INSTANTIATE_TEST_SUITE_P(Resolvers, HostileLayerTest,
                         ::testing::Values(ResolverKind::kOpenat2, ResolverKind::kFallback),
                         [](const auto& info) {
                           return info.param == ResolverKind::kOpenat2 ? "Openat2" : "Fallback";
                         });

}  // namespace
}  // namespace berth
