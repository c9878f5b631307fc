#include "cri/image/registry/auth.h"
#include "cri/image/registry/config.h"

#include <gtest/gtest.h>

namespace berth::image::registry {
namespace {

using nlohmann::json;

TEST(RegistryConfig, DefaultIsOriginOverHttps) {
  RegistryConfig c;
  auto eps = c.EndpointsFor("docker.io");
  ASSERT_TRUE(eps.ok());
  ASSERT_EQ(eps->size(), 1u);
  EXPECT_EQ((*eps)[0].BaseUrl(), "https://registry-1.docker.io");
  EXPECT_TRUE((*eps)[0].verify_tls);
  EXPECT_FALSE((*eps)[0].http_fallback);
  EXPECT_FALSE((*eps)[0].is_mirror);
}

TEST(RegistryConfig, LoopbackMayFallBackToHttp) {
  RegistryConfig c;
  for (std::string h : {"localhost:5000", "127.0.0.1:5000", "127.1.2.3", "[::1]:5000"}) {
    auto eps = c.EndpointsFor(h);
    ASSERT_TRUE(eps.ok());
    EXPECT_EQ((*eps)[0].scheme, "https") << h;
    EXPECT_TRUE((*eps)[0].http_fallback) << h;
  }
  EXPECT_FALSE(c.EndpointsFor("10.0.0.1:5000")->at(0).http_fallback);
  EXPECT_FALSE(c.EndpointsFor("localhost.example.com")->at(0).http_fallback);
}

TEST(RegistryConfig, IsLoopback) {
  EXPECT_TRUE(IsLoopbackHost("localhost"));
  EXPECT_TRUE(IsLoopbackHost("127.0.0.1:80"));
  EXPECT_TRUE(IsLoopbackHost("127.255.0.1"));
  EXPECT_TRUE(IsLoopbackHost("[::1]:5000"));
  EXPECT_TRUE(IsLoopbackHost("::1"));
  EXPECT_FALSE(IsLoopbackHost("128.0.0.1"));
  EXPECT_FALSE(IsLoopbackHost("[::2]"));
  EXPECT_FALSE(IsLoopbackHost("example.com"));
}

TEST(RegistryConfig, MirrorsInOrderThenOriginOnlyWhenAsked) {
  auto c = RegistryConfig::FromJson(json::parse(R"({"hosts": {
      "docker.io": {"mirrors": ["https://m1.example", "http://127.0.0.1:5000", "m3:5000/"]},
      "quay.io": {"mirrors": ["m1.example"], "origin_fallback": true},
      "m3:5000": {"ca_file": "/ca.pem"},
      "m1.example": {"insecure": true}}})"),
                                    "registries");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto eps = c->EndpointsFor("docker.io");
  ASSERT_TRUE(eps.ok());
  ASSERT_EQ(eps->size(), 3u);
  EXPECT_EQ((*eps)[0].BaseUrl(), "https://m1.example");
  EXPECT_FALSE((*eps)[0].verify_tls);     // m1.example is insecure…
  EXPECT_FALSE((*eps)[0].http_fallback);  // …but its scheme was explicit
  EXPECT_EQ((*eps)[1].BaseUrl(), "http://127.0.0.1:5000");
  EXPECT_EQ((*eps)[2].BaseUrl(), "https://m3:5000");
  EXPECT_EQ((*eps)[2].ca_file, "/ca.pem");
  for (auto& e : *eps) EXPECT_TRUE(e.is_mirror);

  auto q = c->EndpointsFor("quay.io");
  ASSERT_EQ(q->size(), 2u);
  EXPECT_TRUE((*q)[0].http_fallback);  // insecure without explicit scheme
  EXPECT_EQ((*q)[1].BaseUrl(), "https://quay.io");
  EXPECT_FALSE((*q)[1].is_mirror);
}

TEST(RegistryConfig, StarAppliesToEveryHostWithoutOwnEntry) {
  auto c =
      RegistryConfig::FromJson(json::parse(R"({"hosts": {"*": {"mirrors": ["http://10.1.1.1:5000"]},
                                "own.example": {"ca_file": "/own.pem"}}})"),
                               "registries");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto eps = c->EndpointsFor("docker.io");
  ASSERT_EQ(eps->size(), 1u);  // no fallback to the origin
  EXPECT_EQ((*eps)[0].BaseUrl(), "http://10.1.1.1:5000");
  auto own = c->EndpointsFor("own.example");
  ASSERT_EQ(own->size(), 1u);
  EXPECT_EQ((*own)[0].BaseUrl(), "https://own.example");
  EXPECT_EQ((*own)[0].ca_file, "/own.pem");
}

TEST(RegistryConfig, RejectsBadInput) {
  auto unknown = RegistryConfig::FromJson(
      json::parse(R"({"hosts": {"docker.io": {"mirors": []}}})"), "registries");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("registries.hosts.docker.io.mirors"), std::string::npos)
      << unknown.status().message();
  auto scheme = RegistryConfig::FromJson(
      json::parse(R"({"hosts": {"docker.io": {"mirrors": ["ftp://x"]}}})"), "registries");
  ASSERT_FALSE(scheme.ok());
  EXPECT_NE(scheme.status().message().find("scheme must be http or https"), std::string::npos);
  auto path = RegistryConfig::FromJson(
      json::parse(R"({"hosts": {"docker.io": {"mirrors": ["https://x/prefix"]}}})"), "r");
  EXPECT_FALSE(path.ok());
  EXPECT_FALSE(RegistryConfig::FromJson(json::parse(R"({"host": {}})"), "r").ok());
}

TEST(Auth, ParsesChallenges) {
  auto cs = ParseWwwAuthenticate(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",)"
      R"(scope="repository:library/busybox:pull,push", Basic realm="x \"y\"")");
  ASSERT_EQ(cs.size(), 2u);
  EXPECT_EQ(cs[0].scheme, "bearer");
  EXPECT_EQ(cs[0].params.at("realm"), "https://auth.docker.io/token");
  EXPECT_EQ(cs[0].params.at("service"), "registry.docker.io");
  EXPECT_EQ(cs[0].params.at("scope"), "repository:library/busybox:pull,push");
  EXPECT_EQ(cs[1].scheme, "basic");
  EXPECT_EQ(cs[1].params.at("realm"), "x \"y\"");
  EXPECT_TRUE(ParseWwwAuthenticate("").empty());
  auto unquoted = ParseWwwAuthenticate("Basic realm=Registry");
  ASSERT_EQ(unquoted.size(), 1u);
  EXPECT_EQ(unquoted[0].params.at("realm"), "Registry");
}

TEST(Auth, Base64AndUserPass) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("user:pa:ss"), "dXNlcjpwYTpzcw==");
  EXPECT_EQ(*Base64Decode("dXNlcjpwYTpzcw=="), "user:pa:ss");
  EXPECT_FALSE(Base64Decode("ab$d").ok());
  EXPECT_FALSE(Base64Decode("Zg=a").ok());

  AuthConfig a;
  a.auth = Base64Encode("alice:s3:cret");
  auto up = a.UserPass();
  ASSERT_TRUE(up.ok());
  EXPECT_EQ(up->first, "alice");
  EXPECT_EQ(up->second, "s3:cret");
  a.username = "bob";
  a.password = "pw";
  EXPECT_EQ(a.UserPass()->first, "bob");  // explicit username wins
  AuthConfig bad;
  bad.auth = Base64Encode("nocolon");
  EXPECT_EQ(bad.UserPass().status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(AuthConfig{}.empty());
}

TEST(Auth, BasicChallengeWithoutCredentialsIsUnauthenticated) {
  Authorizer az(AuthConfig{}, HttpTimeouts{});
  auto r = az.Answer("reg:5000", "repository:x:pull", ParseWwwAuthenticate("Basic realm=r"), {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(r.status().message().find("requires a username and password"), std::string::npos);

  AuthConfig creds;
  creds.username = "u";
  creds.password = "p";
  Authorizer az2(creds, HttpTimeouts{});
  EXPECT_EQ(az2.Cached("reg:5000", "s"), "");
  auto ok = az2.Answer("reg:5000", "s", ParseWwwAuthenticate("Basic realm=r"), {});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, "Basic " + Base64Encode("u:p"));
  EXPECT_EQ(az2.Cached("reg:5000", "s"), *ok);  // later requests pre-authorise
}

TEST(Auth, RegistryTokenIsUsedDirectly) {
  AuthConfig a;
  a.registry_token = "tok";
  Authorizer az(a, HttpTimeouts{});
  auto r = az.Answer("h", "s", ParseWwwAuthenticate(R"(Bearer realm="http://127.0.0.1:1/t")"), {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "Bearer tok");
}

}  // namespace
}  // namespace berth::image::registry
