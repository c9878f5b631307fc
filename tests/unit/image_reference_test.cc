#include "cri/image/reference.h"

#include <gtest/gtest.h>

namespace berth::image {
namespace {

const std::string kHex(64, 'a');
const std::string kDigest = "sha256:" + kHex;

struct Good {
  std::string in, domain, path, tag, digest, normalized;
};

class ReferenceGood : public ::testing::TestWithParam<Good> {};

TEST_P(ReferenceGood, Normalises) {
  const Good& g = GetParam();
  auto r = ParseReference(g.in);
  ASSERT_TRUE(r.ok()) << g.in << ": " << r.status().ToString();
  EXPECT_EQ(r->domain, g.domain) << g.in;
  EXPECT_EQ(r->path, g.path) << g.in;
  EXPECT_EQ(r->tag, g.tag) << g.in;
  EXPECT_EQ(r->digest.String(), g.digest) << g.in;
  EXPECT_EQ(r->String(), g.normalized) << g.in;
  // Normalising is idempotent.
  auto again = ParseReference(r->String());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *r);
}

INSTANTIATE_TEST_SUITE_P(
    Table, ReferenceGood,
    ::testing::Values(
        Good{"busybox", "docker.io", "library/busybox", "latest", "",
             "docker.io/library/busybox:latest"},
        Good{"busybox:1.36", "docker.io", "library/busybox", "1.36", "",
             "docker.io/library/busybox:1.36"},
        Good{"user/repo", "docker.io", "user/repo", "latest", "", "docker.io/user/repo:latest"},
        Good{"docker.io/busybox", "docker.io", "library/busybox", "latest", "",
             "docker.io/library/busybox:latest"},
        Good{"index.docker.io/library/busybox:x", "docker.io", "library/busybox", "x", "",
             "docker.io/library/busybox:x"},
        Good{"index.docker.io/busybox", "docker.io", "library/busybox", "latest", "",
             "docker.io/library/busybox:latest"},
        Good{"quay.io/coreos/etcd:v3.5", "quay.io", "coreos/etcd", "v3.5", "",
             "quay.io/coreos/etcd:v3.5"},
        Good{"localhost/repo", "localhost", "repo", "latest", "", "localhost/repo:latest"},
        Good{"localhost:5000/a/b/c:t", "localhost:5000", "a/b/c", "t", "",
             "localhost:5000/a/b/c:t"},
        Good{"127.0.0.1:5000/repo", "127.0.0.1:5000", "repo", "latest", "",
             "127.0.0.1:5000/repo:latest"},
        Good{"[::1]:5000/repo:1", "[::1]:5000", "repo", "1", "", "[::1]:5000/repo:1"},
        Good{"Registry.Example.COM/repo", "Registry.Example.COM", "repo", "latest", "",
             "Registry.Example.COM/repo:latest"},
        Good{"host:5000/repo:tag", "host:5000", "repo", "tag", "", "host:5000/repo:tag"},
        Good{"busybox@" + kDigest, "docker.io", "library/busybox", "", kDigest,
             "docker.io/library/busybox@" + kDigest},
        Good{"busybox:1@" + kDigest, "docker.io", "library/busybox", "1", kDigest,
             "docker.io/library/busybox:1@" + kDigest},
        Good{"host:5000/r@" + kDigest, "host:5000", "r", "", kDigest, "host:5000/r@" + kDigest},
        Good{"r@sha512:" + std::string(128, 'b'), "docker.io", "library/r", "",
             "sha512:" + std::string(128, 'b'),
             "docker.io/library/r@sha512:" + std::string(128, 'b')},
        Good{"a/b_c/d__e/f-g/h---i/j.k", "docker.io", "a/b_c/d__e/f-g/h---i/j.k", "latest", "",
             "docker.io/a/b_c/d__e/f-g/h---i/j.k:latest"},
        Good{"repo:TAG_with.dots-and-dashes", "docker.io", "library/repo",
             "TAG_with.dots-and-dashes", "", "docker.io/library/repo:TAG_with.dots-and-dashes"},
        Good{"repo:_under", "docker.io", "library/repo", "_under", "",
             "docker.io/library/repo:_under"},
        Good{"repo:" + std::string(128, 't'), "docker.io", "library/repo", std::string(128, 't'),
             "", "docker.io/library/repo:" + std::string(128, 't')},
        Good{"my-registry.local:443/ns/img:1.0", "my-registry.local:443", "ns/img", "1.0", "",
             "my-registry.local:443/ns/img:1.0"},
        Good{kHex + ":tag", "docker.io", "library/" + kHex, "tag", "",
             "docker.io/library/" + kHex + ":tag"},
        Good{"localhost:5000", "docker.io", "library/localhost", "5000", "",
             "docker.io/library/localhost:5000"}));

struct Bad {
  std::string in, why;
};

class ReferenceBad : public ::testing::TestWithParam<Bad> {};

TEST_P(ReferenceBad, Rejected) {
  const Bad& b = GetParam();
  auto r = ParseReference(b.in);
  ASSERT_FALSE(r.ok()) << b.in << " parsed as " << r->String();
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("invalid reference \"" + b.in + "\""), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find(b.why), std::string::npos)
      << b.in << ": " << r.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    Table, ReferenceBad,
    ::testing::Values(
        Bad{"", "empty"}, Bad{"Busybox", "repository name must be lowercase"},
        Bad{"docker.io/Library/busybox", "must be lowercase"},
        Bad{"user/Repo", "lowercase"},  // "user" is a path, so "Repo" is uppercase in a path
        Bad{"busybox:", "invalid tag"}, Bad{"busybox:.tag", "invalid tag"},
        Bad{"busybox:-tag", "invalid tag"}, Bad{"busybox:ta/g", "invalid registry domain"},
        Bad{"busybox:" + std::string(129, 't'), "invalid tag"},
        Bad{"busybox:t@g", "invalid digest"}, Bad{"busybox@sha256:abc", "needs 64 hex"},
        Bad{"busybox@sha256:" + std::string(64, 'A'), "lowercase"},
        Bad{"busybox@md5:" + std::string(32, 'a'), "unsupported algorithm"},
        Bad{"busybox@" + kHex, "expected <algorithm>:<hex>"},
        Bad{"busybox@sha512:" + kHex, "needs 128"}, Bad{kHex, "image id"},
        Bad{"-busybox", "invalid repository path component"},
        Bad{"busybox-", "invalid repository path component"}, Bad{"a//b", "empty component"},
        Bad{"a/b/", "empty component"}, Bad{"a..b", "invalid repository path component"},
        Bad{"a___b", "invalid repository path component"},
        Bad{"a_.b", "invalid repository path component"},
        Bad{"host:port/repo", "invalid registry domain"},
        Bad{"host:/repo", "invalid registry domain"},
        Bad{"-host.com/repo", "invalid registry domain"},
        Bad{"host..com/repo", "invalid registry domain"},
        Bad{"localhost/", "repository path is empty"}, Bad{"bu sybox", "whitespace"},
        Bad{"busy\tbox", "whitespace"}, Bad{"a/" + std::string(260, 'b'), "longer than 255"},
        Bad{"ex@mple/repo", "invalid digest"}, Bad{":tag", "repository name is empty"}));

TEST(Reference, TargetPrefersDigest) {
  auto r = ParseReference("busybox:1@" + kDigest);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->Target(), kDigest);
  EXPECT_EQ(ParseReference("busybox")->Target(), "latest");
  EXPECT_EQ(r->Name(), "docker.io/library/busybox");
}

TEST(Reference, RegistryHost) {
  EXPECT_EQ(RegistryHostFor("docker.io"), "registry-1.docker.io");
  EXPECT_EQ(RegistryHostFor("quay.io"), "quay.io");
  EXPECT_EQ(RegistryHostFor("localhost:5000"), "localhost:5000");
}

TEST(Reference, MessageNamesTheProblemExactly) {
  auto r = ParseReference("Busybox");
  EXPECT_EQ(r.status().message(),
            "invalid reference \"Busybox\": repository name must be lowercase");
}

}  // namespace
}  // namespace berth::image
