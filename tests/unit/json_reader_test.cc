#include "common/json_reader.h"

#include <gtest/gtest.h>

namespace berth {
namespace {

struct Sample {
  std::string root = "/var/lib/berth";
  bool debug = false;
  int64_t workers = 4;
  std::vector<std::string> dirs;
  nlohmann::json plugins = nlohmann::json::object();
};

Status Read(std::string_view text, Sample& s) {
  auto doc = ParseJson(text, "test.json");
  if (!doc.ok()) return doc.status();
  JsonObjectReader r(*doc, "config");
  r.Get("root", s.root);
  r.Get("debug", s.debug);
  r.Get("workers", s.workers);
  r.Get("dirs", s.dirs);
  r.GetObject("plugins", s.plugins);
  return r.Finish();
}

TEST(JsonObjectReader, AbsentKeysKeepDefaults) {
  Sample s;
  ASSERT_TRUE(Read("{}", s).ok());
  EXPECT_EQ(s.root, "/var/lib/berth");
  EXPECT_EQ(s.workers, 4);
}

TEST(JsonObjectReader, ReadsEveryType) {
  Sample s;
  Status st = Read(R"({"root":"/x","debug":true,"workers":9,"dirs":["a","b"],
                       "plugins":{"cni":{"bin":"/opt"}}})",
                   s);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(s.root, "/x");
  EXPECT_TRUE(s.debug);
  EXPECT_EQ(s.workers, 9);
  EXPECT_EQ(s.dirs, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(s.plugins["cni"]["bin"], "/opt");
}

TEST(JsonObjectReader, UnknownKeyIsNamed) {
  Sample s;
  Status st = Read(R"({"root":"/x","rot":"/typo"})", s);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "config.rot: unknown key");
}

TEST(JsonObjectReader, WrongTypeIsNamed) {
  Sample s;
  EXPECT_EQ(Read(R"({"workers":"four"})", s).message(),
            "config.workers: expected an integer, got string");
  EXPECT_EQ(Read(R"({"dirs":["a",1]})", s).message(),
            "config.dirs: expected an array of strings, got number");
  EXPECT_EQ(Read(R"({"debug":1})", s).message(),
            "config.debug: expected true or false, got number");
  EXPECT_EQ(Read(R"({"plugins":[]})", s).message(),
            "config.plugins: expected an object, got array");
}

TEST(JsonObjectReader, TopLevelMustBeObject) {
  Sample s;
  EXPECT_EQ(Read("[1,2]", s).message(), "config: expected a JSON object, got array");
}

TEST(ParseJson, SyntaxErrorSaysWhere) {
  auto r = ParseJson("{\n  \"a\": ,\n}", "/etc/berth/config.json");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("/etc/berth/config.json: invalid JSON"), std::string::npos);
  EXPECT_NE(r.status().message().find("line 2"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace berth
