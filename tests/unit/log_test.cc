#include "common/log.h"

#include <gtest/gtest.h>

namespace berth {
namespace {

TEST(Logger, LogfmtLineWithFields) {
  std::vector<std::string> lines;
  Logger log(LogLevel::kInfo, [&](std::string_view l) { lines.emplace_back(l); });
  log.With({{"component", "plugin_host"}}).Error("load failed", {{"path", "/p/x y.so"}, {"n", 3}});
  ASSERT_EQ(lines.size(), 1u);
  const std::string& l = lines[0];
  EXPECT_EQ(l.rfind("time=", 0), 0u);
  EXPECT_NE(
      l.find(" level=error component=plugin_host msg=\"load failed\" path=\"/p/x y.so\" n=3\n"),
      std::string::npos)
      << l;
}

TEST(Logger, LevelFilters) {
  int count = 0;
  Logger log(LogLevel::kWarn, [&](std::string_view) { ++count; });
  log.Debug("d");
  log.Info("i");
  log.Warn("w");
  log.Error("e");
  EXPECT_EQ(count, 2);
}

TEST(Logger, EscapesQuotesAndNewlines) {
  std::string line;
  Logger log(LogLevel::kDebug, [&](std::string_view l) { line = l; });
  log.Info("a \"b\"\nc");
  EXPECT_NE(line.find(R"(msg="a \"b\"\nc")"), std::string::npos) << line;
}

TEST(ParseLogLevel, KnownAndUnknown) {
  EXPECT_EQ(ParseLogLevel("debug"), LogLevel::kDebug);
  EXPECT_EQ(ParseLogLevel("warning"), LogLevel::kWarn);
  EXPECT_EQ(ParseLogLevel("loud"), std::nullopt);
}

}  // namespace
}  // namespace berth
