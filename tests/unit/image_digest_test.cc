#include "cri/image/digest.h"

#include <gtest/gtest.h>

namespace berth::image {
namespace {

TEST(Digest, KnownVectors) {
  EXPECT_EQ(DigestOf("").String(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(DigestOf("abc").String(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(DigestOf("abc", DigestAlgorithm::kSha512).String(),
            "sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
            "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
}

TEST(Digest, IncrementalEqualsOneShotAndCurrentDoesNotConsume) {
  Hasher h;
  h.Update("a");
  EXPECT_EQ(h.Current(), DigestOf("a"));
  h.Update("bc");
  EXPECT_EQ(h.Current(), DigestOf("abc"));
  h.Reset();
  h.Update("x");
  EXPECT_EQ(h.Current(), DigestOf("x"));
  Hasher moved = std::move(h);
  moved.Update("y");
  EXPECT_EQ(moved.Current(), DigestOf("xy"));
}

TEST(Digest, ParseRoundTrip) {
  std::string s = DigestOf("abc").String();
  auto d = Digest::Parse(s);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->String(), s);
  EXPECT_EQ(d->algorithm(), DigestAlgorithm::kSha256);
  EXPECT_EQ(d->hex(), s.substr(7));
  auto d512 = Digest::Parse(DigestOf("abc", DigestAlgorithm::kSha512).String());
  ASSERT_TRUE(d512.ok());
  EXPECT_EQ(d512->algorithm(), DigestAlgorithm::kSha512);
}

TEST(Digest, ParseRejects) {
  for (std::string bad :
       std::vector<std::string>{"", "sha256", "sha256:", "sha256:abc", ":" + std::string(64, 'a'),
                                "sha256:" + std::string(63, 'a'), "sha256:" + std::string(65, 'a'),
                                "sha256:" + std::string(64, 'A'), "sha256:" + std::string(64, 'g'),
                                "sha512:" + std::string(64, 'a'), "md5:" + std::string(32, 'a'),
                                "SHA256:" + std::string(64, 'a')}) {
    auto d = Digest::Parse(bad);
    EXPECT_FALSE(d.ok()) << bad;
    if (!d.ok()) {
      EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument) << bad;
      EXPECT_NE(d.status().message().find("invalid digest"), std::string::npos);
    }
  }
}

TEST(Digest, EmptyIsInvalidAndOrdered) {
  Digest d;
  EXPECT_FALSE(d.valid());
  EXPECT_EQ(d.String(), "");
  EXPECT_TRUE(DigestOf("a") < DigestOf("b") || DigestOf("b") < DigestOf("a"));
}

}  // namespace
}  // namespace berth::image
