#include "cri/image/content_store.h"

#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/test_env.h"

namespace berth::image {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> Ingests(const ContentStore& s) {
  std::vector<std::string> out;
  for (auto& e : fs::directory_iterator(s.root() + "/content/ingest")) {
    out.push_back(e.path().filename());
  }
  return out;
}

class ContentStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = ContentStore::Open(dir_.path());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
  }
  testing::TempDir dir_;
  std::unique_ptr<ContentStore> store_;
};

TEST_F(ContentStoreTest, PutReadInfoListDelete) {
  std::string data = "hello blob";
  Digest d = DigestOf(data);
  ASSERT_TRUE(store_->Put(d, data).ok());
  EXPECT_TRUE(store_->Has(d));
  EXPECT_EQ(store_->BlobPath(d), dir_.path() + "/content/blobs/sha256/" + d.hex());
  EXPECT_EQ(*store_->ReadAll(d), data);
  EXPECT_EQ(store_->Info(d)->size, static_cast<int64_t>(data.size()));
  auto list = store_->List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].digest, d);
  // Committed blobs are read-only.
  struct stat st;
  ASSERT_EQ(::stat(store_->BlobPath(d).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0444u);
  EXPECT_EQ(store_->ReadAll(d, 3).status().code(), StatusCode::kResourceExhausted);
  ASSERT_TRUE(store_->Delete(d).ok());
  EXPECT_FALSE(store_->Has(d));
  EXPECT_EQ(store_->Delete(d).code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->Info(d).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Ingests(*store_).empty());
}

TEST_F(ContentStoreTest, Sha512Blobs) {
  Digest d = DigestOf("x", DigestAlgorithm::kSha512);
  ASSERT_TRUE(store_->Put(d, "x").ok());
  EXPECT_EQ(store_->BlobPath(d), dir_.path() + "/content/blobs/sha512/" + d.hex());
  EXPECT_EQ(store_->List()->size(), 1u);
}

TEST_F(ContentStoreTest, DigestMismatchRefusedAndNothingLeft) {
  Digest d = DigestOf("the real content");
  // Different content, different size (what a corrupted registry blob looks like).
  Status s = store_->Ensure(d, 16, [](Writer& w) { return w.Write("something else!"); }).status();
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("expected 16 bytes with digest " + d.String()), std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("got 15 bytes with digest " + DigestOf("something else!").String()),
            std::string::npos)
      << s.message();
  EXPECT_FALSE(store_->Has(d));
  EXPECT_TRUE(store_->List()->empty());
  EXPECT_TRUE(Ingests(*store_).empty());

  // Same size, different bytes.
  Status s2 = store_->Put(d, std::string(16, 'x'));
  EXPECT_EQ(s2.code(), StatusCode::kDataLoss);
  EXPECT_TRUE(Ingests(*store_).empty());
}

TEST_F(ContentStoreTest, OversizeWriteRefusedEarly) {
  std::string data = "abc";
  auto r = store_->Ensure(DigestOf(data), 3, [](Writer& w) { return w.Write("abcdef"); });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("more data than the expected 3 bytes"), std::string::npos);
  EXPECT_TRUE(Ingests(*store_).empty());
}

TEST_F(ContentStoreTest, TransientFailureKeepsIngestAndNextWriterResumes) {
  std::string data(100000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);
  Digest d = DigestOf(data);
  auto r = store_->Ensure(d, data.size(), [&](Writer& w) {
    EXPECT_EQ(w.offset(), 0);
    EXPECT_TRUE(w.Write(std::string_view(data).substr(0, 40000)).ok());
    return Unavailable("connection reset");
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_FALSE(store_->Has(d));
  ASSERT_EQ(Ingests(*store_).size(), 1u);

  // A fresh store object (as after a restart) resumes from byte 40000.
  auto again = ContentStore::Open(dir_.path());
  ASSERT_TRUE(again.ok());
  int64_t resumed_at = -1;
  auto r2 = (*again)->Ensure(d, data.size(), [&](Writer& w) {
    resumed_at = w.offset();
    return w.Write(std::string_view(data).substr(w.offset()));
  });
  ASSERT_TRUE(r2.ok()) << r2.status().ToString();
  EXPECT_EQ(*r2, ContentStore::EnsureOutcome::kWritten);
  EXPECT_EQ(resumed_at, 40000);
  EXPECT_EQ(*store_->ReadAll(d), data);
  EXPECT_TRUE(Ingests(*store_).empty());
}

TEST_F(ContentStoreTest, ResumedCorruptPrefixIsCaughtAtCommit) {
  std::string data = "0123456789";
  Digest d = DigestOf(data);
  // A stale ingest whose bytes are wrong (e.g. written by a broken earlier run).
  { std::ofstream(store_->IngestPath(d)) << "XXXX"; }
  auto r = store_->Ensure(d, data.size(), [&](Writer& w) {
    return w.Write(std::string_view(data).substr(w.offset()));
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_FALSE(store_->Has(d));
  EXPECT_TRUE(Ingests(*store_).empty());
  // And the retry from scratch works.
  EXPECT_TRUE(store_->Put(d, data).ok());
}

TEST_F(ContentStoreTest, ResetStartsOver) {
  std::string data = "final content";
  Digest d = DigestOf(data);
  auto r = store_->Ensure(d, data.size(), [&](Writer& w) {
    BERTH_RETURN_IF_ERROR(w.Write("garbage"));
    BERTH_RETURN_IF_ERROR(w.Reset());
    EXPECT_EQ(w.offset(), 0);
    return w.Write(data);
  });
  EXPECT_TRUE(r.ok()) << r.status().ToString();
}

TEST_F(ContentStoreTest, AlreadyPresentSkipsFillAndChecksSize) {
  Digest d = DigestOf("abc");
  ASSERT_TRUE(store_->Put(d, "abc").ok());
  bool called = false;
  auto r = store_->Ensure(d, 3, [&](Writer&) {
    called = true;
    return OkStatus();
  });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, ContentStore::EnsureOutcome::kAlreadyPresent);
  EXPECT_FALSE(called);
  EXPECT_EQ(store_->Ensure(d, 4, [](Writer&) { return OkStatus(); }).status().code(),
            StatusCode::kDataLoss);
}

TEST_F(ContentStoreTest, ConcurrentSameDigestDownloadsOnce) {
  std::string data(1 << 20, 'z');
  Digest d = DigestOf(data);
  std::atomic<int> fills{0};
  std::atomic<int> written{0}, waited{0}, present{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      auto r = store_->Ensure(d, data.size(), [&](Writer& w) {
        ++fills;
        // Slow writer so the others pile up behind it.
        for (size_t off = 0; off < data.size(); off += 65536) {
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
          BERTH_RETURN_IF_ERROR(w.Write(std::string_view(data).substr(off, 65536)));
        }
        return OkStatus();
      });
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      if (*r == ContentStore::EnsureOutcome::kWritten) ++written;
      if (*r == ContentStore::EnsureOutcome::kWaitedForOther) ++waited;
      if (*r == ContentStore::EnsureOutcome::kAlreadyPresent) ++present;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(fills.load(), 1);
  EXPECT_EQ(written.load(), 1);
  EXPECT_EQ(waited + present, 7);
  EXPECT_EQ(*store_->ReadAll(d, 2 << 20), data);
}

TEST_F(ContentStoreTest, WaitersShareTheLeadersFailure) {
  Digest d = DigestOf("never arrives");
  std::atomic<int> fills{0};
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      auto r = store_->Ensure(d, 13, [&](Writer&) {
        ++fills;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        return Status(StatusCode::kNotFound, "blob unknown to registry");
      });
      if (!r.ok()) ++failures;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 4);
  EXPECT_LE(fills.load(), 4);
  EXPECT_TRUE(Ingests(*store_).empty());  // NOT_FOUND is not transient: ingest removed
}

TEST_F(ContentStoreTest, GarbageCollectKeepsReferencedAndLiveIngests) {
  Digest keep = DigestOf("keep"), drop = DigestOf("drop!");
  ASSERT_TRUE(store_->Put(keep, "keep").ok());
  ASSERT_TRUE(store_->Put(drop, "drop!").ok());
  // A stale ingest (no writer holds it) and a live one.
  Digest stale = DigestOf("stale");
  { std::ofstream(store_->IngestPath(stale)) << "sta"; }
  Digest live = DigestOf("live data");
  auto w = store_->OpenWriter(live, 9);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Write("live").ok());

  auto gc = store_->GarbageCollect({keep});
  ASSERT_TRUE(gc.ok()) << gc.status().ToString();
  EXPECT_EQ(gc->blobs_removed, 1);
  EXPECT_EQ(gc->bytes_removed, 5);
  EXPECT_EQ(gc->ingests_removed, 1);
  EXPECT_TRUE(store_->Has(keep));
  EXPECT_FALSE(store_->Has(drop));
  EXPECT_EQ(Ingests(*store_), std::vector<std::string>{"sha256-" + live.hex()});
  ASSERT_TRUE((*w)->Write(" data").ok());
  ASSERT_TRUE((*w)->Commit().ok());
  EXPECT_TRUE(store_->Has(live));
  EXPECT_TRUE(Ingests(*store_).empty());
}

TEST_F(ContentStoreTest, ListIgnoresForeignFiles) {
  { std::ofstream(dir_.path() + "/content/blobs/sha256/not-a-digest") << "x"; }
  EXPECT_TRUE(store_->List()->empty());
}

}  // namespace
}  // namespace berth::image
