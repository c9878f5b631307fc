// berthd's "streaming" config section (cri/daemon_config): defaults, every key, and errors
// that name the key.
#include <gtest/gtest.h>

#include <fstream>

#include "cri/daemon_config.h"
#include "tests/support/test_env.h"

namespace berth {
namespace {

Status Load(const std::string& json, DaemonConfig& c) {
  testing::TempDir dir;
  std::ofstream(dir / "config.json") << json;
  return LoadDaemonConfigFile(dir / "config.json", c);
}

TEST(StreamingConfigTest, DefaultsAndEveryKey) {
  DaemonConfig d;
  EXPECT_EQ(d.streaming.address, "127.0.0.1");
  EXPECT_EQ(d.streaming.port, 0);
  EXPECT_EQ(d.streaming.idle_timeout_s, 4 * 3600);
  EXPECT_EQ(d.streaming.token_ttl_s, 60);

  DaemonConfig c;
  Status s = Load(R"({"streaming": {"address": "::1", "port": 10010, "tls_cert_file": "/c.pem",
                     "tls_key_file": "/k.pem", "idle_timeout_s": 0, "token_ttl_s": 30}})",
                  c);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(c.streaming.address, "::1");
  EXPECT_EQ(c.streaming.port, 10010);
  EXPECT_EQ(c.streaming.tls_cert_file, "/c.pem");
  EXPECT_EQ(c.streaming.tls_key_file, "/k.pem");
  EXPECT_EQ(c.streaming.idle_timeout_s, 0);
  EXPECT_EQ(c.streaming.token_ttl_s, 30);
  EXPECT_EQ(c.ToJson()["streaming"]["port"], 10010);
}

TEST(StreamingConfigTest, ErrorsNameTheKey) {
  struct Case {
    const char* json;
    const char* message;
  };
  for (const Case& k : {
           Case{R"({"streaming": {"adress": "1.2.3.4"}})", "streaming.adress: unknown key"},
           Case{R"({"streaming": {"address": "localhost"}})", "is not an IPv4 or IPv6 address"},
           Case{R"({"streaming": {"port": 70000}})", "streaming.port"},
           Case{R"({"streaming": {"port": "80"}})", "streaming.port"},
           Case{R"({"streaming": {"tls_cert_file": "/c.pem"}})", "must be set together"},
           Case{R"({"streaming": {"token_ttl_s": 0}})", "streaming.token_ttl_s"},
           Case{R"({"streaming": {"idle_timeout_s": -1}})", "streaming.idle_timeout_s"},
           Case{R"({"streaming": 5})", "streaming"},
       }) {
    SCOPED_TRACE(k.json);
    DaemonConfig c;
    Status s = Load(k.json, c);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find(k.message), std::string::npos) << s.message();
  }
}

}  // namespace
}  // namespace berth
