// Pull failures through a real berthd: a corrupt blob in the registry, 500s then OK, truncated
// downloads, and berthd SIGKILLed in the middle of a pull. After each: no partial image, no temp
// files or snapshots, no mounts, and a retry succeeds.

#include <signal.h>

#include <atomic>
#include <thread>

#include "tests/integration/image_service_fixture.h"
#include "tests/support/registry_proxy.h"

namespace berth::testing {
namespace {

using ::testing::Values;

class ImagePullFailureTest : public ImageServiceTest {
 protected:
  void ExpectNothingLeft() {
    EXPECT_TRUE(List().empty());
    EXPECT_EQ(IngestCount(), 0u);
  }
  std::vector<std::string> TmpSnapshots() {
    std::vector<std::string> out;
    for (const std::string& s : SnapshotsOffline()) {
      if (s.rfind("sha256:", 0) != 0) out.push_back(s);
    }
    return out;
  }
};

TEST_P(ImagePullFailureTest, CorruptBlobIsRefusedAndNothingIsKept) {
  auto reg = StartRegistry();
  ASSERT_TRUE(reg);
  TestImages::Layout l = TestImages::Read(TestImages::Get().path("busybox"));
  Push(*reg, TestImages::Get().path("busybox"), "test/busybox", "1");
  std::string data = reg->BlobDataPath(l.layers[0].substr(7));
  std::string original = *ReadFile(data);
  std::string bad = original;
  bad[bad.size() / 2] ^= 0x55;
  ASSERT_TRUE(AtomicWriteFile(data, bad).ok());
  ASSERT_TRUE(StartBerthd());

  grpc::Status s = Pull(reg->host() + "/test/busybox:1");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DATA_LOSS) << s.error_message();
  EXPECT_NE(s.error_message().find(l.layers[0]), std::string::npos) << s.error_message();
  ExpectNothingLeft();
  EXPECT_FALSE(BlobExists(l.layers[0]));
  EXPECT_EQ(BlobCount(), 0u) << "the failed pull's other blobs are collected too";

  ASSERT_TRUE(AtomicWriteFile(data, original).ok());
  s = Pull(reg->host() + "/test/busybox:1");
  ASSERT_TRUE(s.ok()) << s.error_message();
  StopBerthd();
  EXPECT_TRUE(TmpSnapshots().empty());
}

TEST_P(ImagePullFailureTest, ServerErrorsThenOkAndTruncatedDownloadsAreRetried) {
  auto reg = StartRegistry();
  ASSERT_TRUE(reg);
  TestImages::Layout l = TestImages::Read(TestImages::Get().path("layered"));
  Push(*reg, TestImages::Get().path("layered"), "test/layered", "v1");
  ProxyOptions po;
  po.upstream_port = reg->port();
  po.fail_blob_gets = 2;
  RegistryProxy flaky(po);
  po.fail_blob_gets = 0;
  po.truncate_blob_gets = 2;
  po.truncate_after = 500;
  RegistryProxy truncating(po);
  ASSERT_TRUE(StartBerthd());

  std::string id;
  grpc::Status s = Pull(flaky.host() + "/test/layered:v1", &id);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(id, l.config);
  ASSERT_TRUE(Remove(id).ok());
  EXPECT_EQ(BlobCount(), 0u);

  s = Pull(truncating.host() + "/test/layered:v1", &id);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(id, l.config);
  bool resumed = false;
  for (const ProxyRequest& r : truncating.requests()) resumed |= !r.range.empty();
  EXPECT_TRUE(resumed) << "a truncated download resumes with a Range request";
  EXPECT_EQ(IngestCount(), 0u);
}

TEST_P(ImagePullFailureTest, WrongDigestFromTheRegistryFailsCleanly) {
  // The registry serves a manifest whose layer descriptor does not match the blob: push a
  // derived layout whose manifest names another layer's size.
  auto reg = StartRegistry();
  ASSERT_TRUE(reg);
  std::string layout = dir_ / "lying";
  TestImages::Derive(TestImages::Get().path("busybox"), layout, [](nlohmann::json& c) {
    c["rootfs"]["diff_ids"][0] = "sha256:" + std::string(64, '0');  // wrong diff_id
  });
  Push(*reg, layout, "test/lying", "1");
  ASSERT_TRUE(StartBerthd());
  grpc::Status s = Pull(reg->host() + "/test/lying:1");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DATA_LOSS) << s.error_message();
  EXPECT_NE(s.error_message().find("diff_id"), std::string::npos) << s.error_message();
  ExpectNothingLeft();
  EXPECT_EQ(BlobCount(), 0u);
  StopBerthd();
  EXPECT_TRUE(SnapshotsOffline().empty()) << "the failed layer's snapshot is gone";
}

TEST_P(ImagePullFailureTest, KilledMidPullLeavesNothingAndARetrySucceeds) {
  auto reg = StartRegistry();
  ASSERT_TRUE(reg);
  std::string big = dir_ / "big";
  TestImages::MakeBig(big, 48);
  TestImages::Layout l = TestImages::Read(big);
  Push(*reg, big, "test/big", "1");
  // Slow the download down so the kill lands in it: every blob GET is cut short a few times.
  ProxyOptions po;
  po.upstream_port = reg->port();
  po.truncate_blob_gets = 3;
  po.truncate_after = 4 << 20;
  RegistryProxy proxy(po);
  ASSERT_TRUE(StartBerthd());
  std::string ref = proxy.host() + "/test/big:1";

  // Kill at several points of the pull (download, unpack, record).
  int interrupted = 0;
  for (int delay_ms : {30, 150, 400}) {
    std::atomic<bool> done{false};
    std::thread puller([&] {
      (void)Pull(ref);
      done = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    ASSERT_TRUE(RestartBerthd(SIGKILL));
    puller.join();
    // Either the pull had completed before the kill, or nothing of it is visible.
    auto images = List();
    if (images.empty()) ++interrupted;
    if (!images.empty()) {
      ASSERT_EQ(images.size(), 1u);
      EXPECT_EQ(images[0].id(), l.config);
      ASSERT_TRUE(Remove(l.config).ok());
    }
    EXPECT_EQ(IngestCount(), 0u) << "delay " << delay_ms;
    EXPECT_EQ(BlobCount(), 0u) << "delay " << delay_ms;
    EXPECT_EQ(LeftoverMounts(), "");
  }
  EXPECT_GE(interrupted, 1) << "no kill landed inside a pull";
  StopBerthd();
  EXPECT_TRUE(SnapshotsOffline().empty());
  ASSERT_TRUE(StartBerthd());
  std::string id;
  grpc::Status s = Pull(ref, &id);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(id, l.config);
}

INSTANTIATE_TEST_SUITE_P(Overlay, ImagePullFailureTest, Values("overlay"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace berth::testing
