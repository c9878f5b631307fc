#include "cri/image/manifest.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace berth::image {
namespace {

using nlohmann::json;

std::string D(char c) { return "sha256:" + std::string(64, c); }

json Desc(std::string mt, char c, int64_t size) {
  return {{"mediaType", mt}, {"digest", D(c)}, {"size", size}};
}

json OciManifest() {
  return {{"schemaVersion", 2},
          {"mediaType", media_type::kOciManifest},
          {"config", Desc(std::string(media_type::kOciConfig), 'c', 100)},
          {"layers",
           {Desc("application/vnd.oci.image.layer.v1.tar+gzip", '1', 10),
            Desc("application/vnd.oci.image.layer.v1.tar+zstd", '2', 20)}}};
}

json PlatformEntry(char c, std::string arch, std::string variant = "",
                   std::string mt = std::string(media_type::kOciManifest)) {
  json d = Desc(mt, c, 500);
  d["platform"] = {{"os", "linux"}, {"architecture", arch}};
  if (!variant.empty()) d["platform"]["variant"] = variant;
  return d;
}

TEST(Manifest, ParsesOciManifest) {
  auto p = ParseManifest(OciManifest().dump(), media_type::kOciManifest);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  auto& m = std::get<ImageManifest>(*p);
  EXPECT_EQ(m.config.digest.String(), D('c'));
  ASSERT_EQ(m.layers.size(), 2u);
  EXPECT_EQ(m.layers[1].size, 20);
}

TEST(Manifest, ParsesDockerSchema2WithCharsetAndWithoutContentType) {
  json j = OciManifest();
  j["mediaType"] = media_type::kDockerManifest;
  j["config"]["mediaType"] = media_type::kDockerConfig;
  j["layers"] = {Desc("application/vnd.docker.image.rootfs.diff.tar.gzip", '1', 10)};
  EXPECT_TRUE(
      ParseManifest(j.dump(), std::string(media_type::kDockerManifest) + "; charset=utf-8").ok());
  EXPECT_TRUE(ParseManifest(j.dump(), "").ok());
  EXPECT_TRUE(ParseManifest(j.dump(), "application/octet-stream").ok());
}

TEST(Manifest, InfersOciTypesWithoutMediaType) {
  json j = OciManifest();
  j.erase("mediaType");
  auto p = ParseManifest(j.dump(), "");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_TRUE(std::holds_alternative<ImageManifest>(*p));
  json idx = {{"schemaVersion", 2}, {"manifests", {PlatformEntry('a', "amd64")}}};
  auto pi = ParseManifest(idx.dump(), "");
  ASSERT_TRUE(pi.ok());
  EXPECT_TRUE(std::holds_alternative<ImageIndex>(*pi));
}

TEST(Manifest, Rejections) {
  struct Case {
    std::string body, content_type;
    StatusCode code;
    std::string why;
  };
  json wrong_cfg = OciManifest();
  wrong_cfg["config"]["mediaType"] = "application/vnd.cncf.helm.config.v1+json";
  json bad_layer = OciManifest();
  bad_layer["layers"][0]["mediaType"] = "application/x-weird";
  json bad_digest = OciManifest();
  bad_digest["layers"][0]["digest"] = "sha256:nothex";
  json neg_size = OciManifest();
  neg_size["config"]["size"] = -1;
  json contradiction = OciManifest();
  json schema1 = {{"schemaVersion", 1}, {"name", "x"}};
  json schema3 = OciManifest();
  schema3["schemaVersion"] = 3;
  std::vector<Case> cases = {
      {"not json", "", StatusCode::kInvalidArgument, "not a JSON object"},
      {"[]", "", StatusCode::kInvalidArgument, "not a JSON object"},
      {schema1.dump(), "", StatusCode::kUnimplemented, "schema 1"},
      {schema3.dump(), "", StatusCode::kInvalidArgument, "schemaVersion must be 2"},
      {wrong_cfg.dump(), "", StatusCode::kInvalidArgument, "not an image config"},
      {bad_layer.dump(), "", StatusCode::kUnimplemented, "unsupported media type"},
      {bad_digest.dump(), "", StatusCode::kInvalidArgument, "layers[0].digest"},
      {neg_size.dump(), "", StatusCode::kInvalidArgument, "config.size"},
      {contradiction.dump(), std::string(media_type::kDockerManifestList),
       StatusCode::kInvalidArgument, "contradicts"},
      {json{{"schemaVersion", 2}, {"mediaType", "text/plain"}}.dump(), "",
       StatusCode::kInvalidArgument, "unsupported manifest media type"},
      {std::string(kMaxManifestSize + 1, ' '), "", StatusCode::kResourceExhausted, "limit"},
  };
  for (const Case& c : cases) {
    auto p = ParseManifest(c.body, c.content_type);
    ASSERT_FALSE(p.ok()) << c.why;
    EXPECT_EQ(p.status().code(), c.code) << p.status().ToString();
    EXPECT_NE(p.status().message().find(c.why), std::string::npos) << p.status().ToString();
  }
}

ImageIndex Index(std::vector<json> entries) {
  json j = {{"schemaVersion", 2}, {"mediaType", media_type::kOciIndex}, {"manifests", entries}};
  auto p = ParseManifest(j.dump(), media_type::kOciIndex);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return std::get<ImageIndex>(*p);
}

TEST(Platform, SelectsExactArchAndVariant) {
  ImageIndex idx = Index({PlatformEntry('a', "amd64"), PlatformEntry('b', "arm64", "v8"),
                          PlatformEntry('c', "arm", "v6"), PlatformEntry('d', "arm", "v7"),
                          PlatformEntry('e', "s390x")});
  EXPECT_EQ(SelectPlatform(idx, {"linux", "amd64", ""})->digest.String(), D('a'));
  EXPECT_EQ(SelectPlatform(idx, {"linux", "arm64", "v8"})->digest.String(), D('b'));
  EXPECT_EQ(SelectPlatform(idx, {"linux", "arm", "v7"})->digest.String(), D('d'));
  EXPECT_EQ(SelectPlatform(idx, {"linux", "arm", "v6"})->digest.String(), D('c'));
  // An armv8 (32-bit) host runs v7 best.
  EXPECT_EQ(SelectPlatform(idx, {"linux", "arm", "v8"})->digest.String(), D('d'));
}

TEST(Platform, CompatibleFallbacks) {
  // arm64 published without a variant still serves an arm64/v8 host.
  ImageIndex idx = Index({PlatformEntry('b', "arm64"), PlatformEntry('a', "amd64", "v2")});
  EXPECT_EQ(SelectPlatform(idx, {"linux", "arm64", "v8"})->digest.String(), D('b'));
  EXPECT_EQ(SelectPlatform(idx, {"linux", "amd64", ""})->digest.String(), D('a'));
}

TEST(Platform, SkipsAttestationsAndReportsWhatExists) {
  json att = Desc(std::string(media_type::kOciManifest), 'f', 10);
  att["platform"] = {{"os", "unknown"}, {"architecture", "unknown"}};
  ImageIndex idx = Index({att, PlatformEntry('e', "s390x"), PlatformEntry('a', "ppc64le")});
  auto r = SelectPlatform(idx, {"linux", "amd64", ""});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("linux/s390x, linux/ppc64le"), std::string::npos)
      << r.status().message();
  // arm v7 image must not be chosen for an armv6 host.
  ImageIndex arm = Index({PlatformEntry('d', "arm", "v7")});
  EXPECT_FALSE(SelectPlatform(arm, {"linux", "arm", "v6"}).ok());
}

TEST(Platform, HostAndParse) {
  Platform h = HostPlatform();
  EXPECT_EQ(h.os, "linux");
  EXPECT_FALSE(h.architecture.empty());
  EXPECT_NE(h.architecture, "x86_64");
  EXPECT_NE(h.architecture, "aarch64");
  auto p = ParsePlatform("linux/arm64/v8");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->String(), "linux/arm64/v8");
  EXPECT_FALSE(ParsePlatform("linux").ok());
  EXPECT_FALSE(ParsePlatform("linux//v8").ok());
  EXPECT_FALSE(ParsePlatform("a/b/c/d").ok());
}

TEST(Manifest, AcceptHeaderListsAllFour) {
  std::string a = ManifestAcceptHeader();
  for (auto t : {media_type::kOciManifest, media_type::kOciIndex, media_type::kDockerManifest,
                 media_type::kDockerManifestList}) {
    EXPECT_NE(a.find(t), std::string::npos);
  }
}

}  // namespace
}  // namespace berth::image
