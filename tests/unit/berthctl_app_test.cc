// berthctl end to end in-process, without a daemon: help and version, flag errors, and how a
// missing or hung endpoint is reported — one line, exit 1, within the timeout. The endpoints
// are real sockets (or their absence); no fake server stands in for berthd.

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/app.h"
#include "tests/support/test_env.h"

namespace berth::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

struct Outcome {
  int code;
  std::string out;
  std::string err;
  std::chrono::milliseconds elapsed;
};

class BerthctlAppTest : public ::testing::Test {
 protected:
  BerthctlAppTest() {
    // An empty crictl.yaml of our own, so that the machine's /etc/crictl.yaml plays no part.
    config_ = dir_ / "crictl.yaml";
    std::ofstream(config_) << "";
  }

  Outcome Berthctl(std::vector<std::string> args) {
    args.insert(args.begin(), "berthctl");
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    EnvLookup env = [this](const char* name) -> std::optional<std::string> {
      if (std::string_view(name) == "CRI_CONFIG_FILE") return config_;
      return std::nullopt;
    };
    std::ostringstream out, err;
    auto start = std::chrono::steady_clock::now();
    int code = RunBerthctl(static_cast<int>(argv.size()), argv.data(), env, out, err);
    auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    return {code, out.str(), err.str(), elapsed};
  }

  static int Lines(const std::string& s) {
    return static_cast<int>(std::count(s.begin(), s.end(), '\n'));
  }

  testing::TempDir dir_;
  std::string config_;
};

TEST_F(BerthctlAppTest, VersionFlag) {
  Outcome r = Berthctl({"--version"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "berthctl version " BERTH_VERSION "\n");
}

TEST_F(BerthctlAppTest, HelpForEachVerb) {
  Outcome r = Berthctl({"--help"});
  EXPECT_EQ(r.code, 0);
  for (const char* s : {"--runtime-endpoint", "--image-endpoint", "--timeout", "--debug",
                        "--config", "version", "info", "plugins"}) {
    EXPECT_THAT(r.out, HasSubstr(s));
  }
  for (const char* verb : {"version", "info", "plugins"}) {
    Outcome v = Berthctl({verb, "--help"});
    EXPECT_EQ(v.code, 0) << verb;
    EXPECT_THAT(v.out, HasSubstr(std::string("berthctl ") + verb)) << verb;
  }
  EXPECT_THAT(Berthctl({"info", "--help"}).out, HasSubstr("--output"));
  EXPECT_EQ(Berthctl({}).code, 0) << "no verb prints the help";
}

TEST_F(BerthctlAppTest, UsageErrorsAreOneLine) {
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"nope"},
                                             {"-t", "soon", "version"},
                                             {"-t", "0", "version"},
                                             {"-r", "http://localhost:1", "version"},
                                             {"-c", "/nonexistent/crictl.yaml", "version"},
                                             {"info", "-o", "xml"},
                                             {"plugins", "-o", "csv"}}) {
    Outcome r = Berthctl(args);
    EXPECT_EQ(r.code, 1) << args[0];
    EXPECT_THAT(r.err, StartsWith("berthctl: ")) << args[0];
    EXPECT_EQ(Lines(r.err), 1) << r.err;
    EXPECT_EQ(r.out, "");
  }
  EXPECT_EQ(Berthctl({"info", "-o", "xml"}).err,
            "berthctl: unsupported output format \"xml\" (use one of: json, yaml)\n");
  EXPECT_EQ(Berthctl({"-t", "soon", "version"}).err,
            "berthctl: --timeout: invalid duration \"soon\": expected a number\n");
}

TEST_F(BerthctlAppTest, MissingSocketFailsFastWithOneLine) {
  std::string endpoint = "unix://" + (dir_ / "absent.sock");
  for (const char* verb : {"version", "info", "plugins"}) {
    Outcome r = Berthctl({"-r", endpoint, "--timeout", "5s", verb});
    EXPECT_EQ(r.code, 1) << verb;
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(Lines(r.err), 1) << r.err;
    EXPECT_THAT(r.err, StartsWith("berthctl: "));
    EXPECT_THAT(r.err, HasSubstr("rpc error: code = Unavailable desc = "));
    EXPECT_THAT(r.err, HasSubstr("absent.sock"));
    EXPECT_LT(r.elapsed, std::chrono::seconds(5)) << "must not wait for the whole timeout";
  }
  EXPECT_THAT(Berthctl({"-r", endpoint, "version"}).err,
              StartsWith("berthctl: getting the runtime version: rpc error: code = Unavailable"));
}

TEST_F(BerthctlAppTest, GlobalFlagsMayFollowTheVerb) {
  Outcome r = Berthctl({"version", "-r", dir_ / "after.sock"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("after.sock"));
}

TEST_F(BerthctlAppTest, EndpointThatNeverAnswersHitsTheDeadline) {
  // A socket that accepts connections (the kernel does, from the backlog) but never speaks
  // HTTP/2: what a wedged daemon looks like. The RPC must end at --timeout.
  std::string path = dir_ / "wedged.sock";
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  ASSERT_LT(path.size(), sizeof(addr.sun_path));
  std::copy(path.begin(), path.end(), addr.sun_path);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 16), 0);

  Outcome r = Berthctl({"-r", "unix://" + path, "-t", "300ms", "version"});
  ::close(fd);
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(Lines(r.err), 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("rpc error: code = DeadlineExceeded"));
  EXPECT_GE(r.elapsed, std::chrono::milliseconds(250));
  EXPECT_LT(r.elapsed, std::chrono::seconds(3));
}

TEST_F(BerthctlAppTest, DebugTracesRequestsAndResponses) {
  Outcome r = Berthctl({"-D", "-r", dir_ / "absent.sock", "version"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("DEBU VersionRequest: {\"version\":\"v1\"}\n"));
  EXPECT_THAT(r.err, HasSubstr("DEBU VersionResponse: rpc error: code = Unavailable"));
  EXPECT_THAT(r.err, HasSubstr("DEBU runtime endpoint " + (dir_ / "absent.sock")));
  // The last line is still the one error line.
  EXPECT_THAT(r.err.substr(r.err.rfind('\n', r.err.size() - 2) + 1),
              StartsWith("berthctl: getting the runtime version: "));
}

TEST_F(BerthctlAppTest, ConfigFileSuppliesEndpointAndDebug) {
  std::ofstream(config_) << "runtime-endpoint: " << (dir_ / "from-config.sock")
                         << "\ndebug: true\n";
  Outcome r = Berthctl({"version"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("DEBU config file " + config_));
  EXPECT_THAT(r.err, HasSubstr("from-config.sock"));
}

}  // namespace
}  // namespace berth::cli
