// The real berthctl binary against a real berthd: crictl's exact version output, info as JSON
// and YAML, plugins, endpoint selection through flags, environment and crictl.yaml, and a
// clear one-line failure within the timeout when the daemon is not there.

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/berthd_process.h"

namespace berth::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class BerthctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    BERTH_REQUIRE_ROOT();
    // Our own (empty) crictl.yaml, so that the machine's /etc/crictl.yaml plays no part.
    config_ = dir_ / "crictl.yaml";
    std::ofstream(config_) << "";
    ASSERT_TRUE(daemon_.Start()) << daemon_.Stderr();
  }

  // berthctl -c <our config> -r <the daemon> <args...>
  CommandResult Berthctl(std::vector<std::string> args) {
    std::vector<std::string> argv = {BERTHCTL_PATH, "-c", config_, "-r", daemon_.endpoint()};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, 20000);
  }

  static int Lines(const std::string& s) {
    return static_cast<int>(std::count(s.begin(), s.end(), '\n'));
  }

  TempDir dir_;
  std::string config_;
  BerthdProcess daemon_;
};

TEST_F(BerthctlTest, VersionIsCrictlsFormat) {
  CommandResult r = Berthctl({"version"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "Version:  0.1.0\n"
            "RuntimeName:  berth\n"
            "RuntimeVersion:  " BERTH_VERSION
            "\n"
            "RuntimeApiVersion:  v1\n");
  EXPECT_EQ(r.err, "");
}

TEST_F(BerthctlTest, InfoJson) {
  CommandResult r = Berthctl({"info"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto info = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(info.is_discarded()) << r.out;
  ASSERT_TRUE(info["status"]["conditions"].is_array()) << r.out;
  bool runtime_ready_seen = false;
  for (const auto& c : info["status"]["conditions"]) {
    if (c["type"] == "RuntimeReady") {
      runtime_ready_seen = true;
      EXPECT_TRUE(c["status"].is_boolean());
      EXPECT_TRUE(c.contains("reason") && c.contains("message")) << "defaults are printed";
    }
  }
  EXPECT_TRUE(runtime_ready_seen) << r.out;
  // The verbose info entries are JSON documents, merged in parsed.
  EXPECT_EQ(info["config"]["socket"], daemon_.socket()) << r.out;
  EXPECT_TRUE(info["plugins"].is_array()) << r.out;
  EXPECT_EQ(r.out.substr(0, 4), "{\n  ") << "pretty-printed with a 2-space indent";

  CommandResult quiet = Berthctl({"info", "-q"});
  ASSERT_EQ(quiet.exit_code, 0) << quiet.err;
  EXPECT_FALSE(nlohmann::json::parse(quiet.out).contains("config")) << "-q: not verbose";
}

TEST_F(BerthctlTest, InfoYaml) {
  CommandResult r = Berthctl({"info", "-o", "yaml"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\nstatus:\n  conditions:\n  - "));
  EXPECT_THAT(r.out, HasSubstr("    type: RuntimeReady\n"));
  EXPECT_THAT(r.out, HasSubstr("  socket: " + daemon_.socket() + "\n"));
}

TEST_F(BerthctlTest, Plugins) {
  CommandResult table = Berthctl({"plugins"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(table.out, StartsWith("TYPE "));
  EXPECT_THAT(table.out.substr(0, table.out.find('\n')), HasSubstr(" PATH"));

  CommandResult json = Berthctl({"plugins", "-o", "json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  auto parsed = nlohmann::json::parse(json.out, nullptr, false);
  ASSERT_FALSE(parsed.is_discarded()) << json.out;
  EXPECT_TRUE(parsed["plugins"].is_array()) << json.out;
  // One table row per plugin, plus the header (and an error line per failed plugin).
  size_t failed = 0;
  for (const auto& p : parsed["plugins"]) failed += p["status"] != "ok";
  EXPECT_EQ(static_cast<size_t>(Lines(table.out)), 1 + parsed["plugins"].size() + failed);
}

TEST_F(BerthctlTest, PluginsShowWhyALibraryFailed) {
  // A plugin directory holding a file that is not a shared library: berthd keeps going and
  // reports it; berthctl shows the reason beneath its row.
  TempDir plugins;
  std::ofstream(plugins / "broken.so") << "not an ELF file";
  BerthdProcess daemon({}, plugins.path());
  ASSERT_TRUE(daemon.Start()) << daemon.Stderr();
  CommandResult r = RunCommand({BERTHCTL_PATH, "-c", config_, "-r", daemon.endpoint(), "plugins"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(" error "));
  EXPECT_THAT(r.out, HasSubstr(plugins / "broken.so"));
  EXPECT_THAT(r.out, HasSubstr("\n  error: "));
}

TEST_F(BerthctlTest, EndpointFromEnvironmentAndConfig) {
  // From the environment (no -r).
  CommandResult env = RunCommand({"/usr/bin/env", "CONTAINER_RUNTIME_ENDPOINT=" + daemon_.socket(),
                                  BERTHCTL_PATH, "-c", config_, "version"});
  EXPECT_EQ(env.exit_code, 0) << env.err;
  EXPECT_THAT(env.out, StartsWith("Version:  0.1.0\n"));

  // From crictl.yaml, where the environment names a missing socket: the environment wins...
  std::ofstream(config_) << "runtime-endpoint: unix://" << daemon_.socket() << "\ntimeout: 5\n";
  CommandResult env_wins =
      RunCommand({"/usr/bin/env", "CONTAINER_RUNTIME_ENDPOINT=" + (dir_ / "absent.sock"),
                  BERTHCTL_PATH, "-c", config_, "version"});
  EXPECT_EQ(env_wins.exit_code, 1);
  EXPECT_THAT(env_wins.err, HasSubstr("absent.sock"));
  // ...and without it the file's endpoint is used.
  CommandResult from_file = RunCommand({"/usr/bin/env", "-u", "CONTAINER_RUNTIME_ENDPOINT",
                                        BERTHCTL_PATH, "-c", config_, "version"});
  EXPECT_EQ(from_file.exit_code, 0) << from_file.err;
}

TEST_F(BerthctlTest, MissingSocketFailsWithinTimeoutWithOneLine) {
  for (const char* verb : {"version", "info", "plugins"}) {
    auto start = std::chrono::steady_clock::now();
    CommandResult r = RunCommand(
        {BERTHCTL_PATH, "-c", config_, "-r", "unix://" + (dir_ / "absent.sock"), "-t", "2s", verb});
    auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(r.exit_code, 1) << verb;
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(Lines(r.err), 1) << r.err;
    EXPECT_THAT(r.err, StartsWith("berthctl: "));
    EXPECT_THAT(r.err, HasSubstr("rpc error: code = Unavailable desc = "));
    EXPECT_LT(elapsed, std::chrono::seconds(2) + std::chrono::milliseconds(500)) << verb;
  }
}

TEST_F(BerthctlTest, StoppedDaemonIsReportedNotWaitedFor) {
  daemon_.Stop(SIGTERM);
  auto start = std::chrono::steady_clock::now();
  CommandResult r = Berthctl({"version"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, StartsWith("berthctl: getting the runtime version: rpc error: code = "));
  EXPECT_EQ(Lines(r.err), 1) << r.err;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
}

TEST_F(BerthctlTest, DebugTracesTheExchange) {
  CommandResult r = Berthctl({"-D", "version"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("DEBU VersionRequest: {\"version\":\"v1\"}"));
  EXPECT_THAT(r.err, HasSubstr("DEBU VersionResponse: {"));
  EXPECT_THAT(r.out, StartsWith("Version:  0.1.0\n")) << "debug output stays off stdout";
}

}  // namespace
}  // namespace berth::testing
