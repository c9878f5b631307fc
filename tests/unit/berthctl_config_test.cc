// berthctl's option handling without a daemon: durations, endpoints, the crictl.yaml parser and
// the flag > env > config > default precedence.

#include <fstream>
#include <map>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/crictl_config.h"
#include "cli/duration.h"
#include "cli/endpoint.h"
#include "cli/options.h"
#include "tests/support/test_env.h"

namespace berth::cli {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;

// ---- durations -------------------------------------------------------------------------------

TEST(DurationTest, ParsesGoDurations) {
  EXPECT_EQ(*ParseDuration("2s"), seconds(2));
  EXPECT_EQ(*ParseDuration("500ms"), milliseconds(500));
  EXPECT_EQ(*ParseDuration("1m"), seconds(60));
  EXPECT_EQ(*ParseDuration("1m30s"), seconds(90));
  EXPECT_EQ(*ParseDuration("1.5h"), seconds(5400));
  EXPECT_EQ(*ParseDuration("0.1s"), milliseconds(100));
  EXPECT_EQ(*ParseDuration(".5s"), milliseconds(500));
  EXPECT_EQ(*ParseDuration("1.s"), seconds(1));
  EXPECT_EQ(*ParseDuration("10us"), nanoseconds(10'000));
  EXPECT_EQ(*ParseDuration("10\xC2\xB5s"), nanoseconds(10'000));
  EXPECT_EQ(*ParseDuration("7ns"), nanoseconds(7));
  EXPECT_EQ(*ParseDuration("+3s"), seconds(3));
  EXPECT_EQ(*ParseDuration("0"), seconds(0));
}

TEST(DurationTest, BareNumberIsSeconds) {
  EXPECT_EQ(*ParseDuration("2"), seconds(2));
  EXPECT_EQ(*ParseDuration("10"), seconds(10));
  EXPECT_EQ(*ParseDuration("0.25"), milliseconds(250));
}

TEST(DurationTest, RejectsBadInput) {
  for (const char* bad : {"", "s", "abc", "2x", "1m30", "-1s", "-2", "1..5s", ".s", "1 s",
                          "99999999999999999999s", "3000000h"}) {
    auto d = ParseDuration(bad);
    EXPECT_FALSE(d.ok()) << bad;
    if (!d.ok()) {
      EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument);
      EXPECT_THAT(d.status().message(), HasSubstr(std::string("\"") + bad + "\""));
    }
  }
  EXPECT_THAT(ParseDuration("2x").status().message(), HasSubstr("unknown unit \"x\""));
}

TEST(DurationTest, Formats) {
  EXPECT_EQ(FormatDuration(seconds(2)), "2s");
  EXPECT_EQ(FormatDuration(milliseconds(500)), "500ms");
  EXPECT_EQ(FormatDuration(seconds(90)), "1m30s");
  EXPECT_EQ(FormatDuration(seconds(3600)), "1h0m0s");
  EXPECT_EQ(FormatDuration(milliseconds(2500)), "2.5s");
  EXPECT_EQ(FormatDuration(nanoseconds(0)), "0s");
  for (const char* s : {"2s", "500ms", "1m30s", "2.5s", "1h0m0s", "7ns"}) {
    EXPECT_EQ(FormatDuration(*ParseDuration(s)), s);
  }
}

// ---- endpoints -------------------------------------------------------------------------------

TEST(EndpointTest, MapsToGrpcTargets) {
  EXPECT_EQ(*EndpointToTarget("unix:///run/berth/berth.sock"), "unix:///run/berth/berth.sock");
  EXPECT_EQ(*EndpointToTarget("/run/berth/berth.sock"), "unix:///run/berth/berth.sock");
  EXPECT_EQ(*EndpointToTarget("unix:rel.sock"), "unix:rel.sock");
  EXPECT_EQ(*EndpointToTarget("./rel.sock"), "unix:./rel.sock");
  EXPECT_EQ(*EndpointToTarget("run/berth.sock"), "unix:run/berth.sock");
  EXPECT_EQ(*EndpointToTarget("localhost:1234"), "localhost:1234");
  EXPECT_EQ(*EndpointToTarget("127.0.0.1:1234"), "127.0.0.1:1234");
  EXPECT_EQ(*EndpointToTarget("[::1]:1234"), "[::1]:1234");
  EXPECT_EQ(*EndpointToTarget("dns:///cri.example:443"), "dns:///cri.example:443");
  EXPECT_EQ(*EndpointToTarget("tcp://localhost:1234"), "localhost:1234");
  EXPECT_EQ(*EndpointToTarget("unix-abstract:berth"), "unix-abstract:berth");
}

TEST(EndpointTest, RejectsEmptyAndUnknownSchemes) {
  EXPECT_FALSE(EndpointToTarget("").ok());
  EXPECT_FALSE(EndpointToTarget("unix:").ok());
  auto http = EndpointToTarget("http://localhost:1234");
  ASSERT_FALSE(http.ok());
  EXPECT_THAT(http.status().message(), HasSubstr("unsupported scheme \"http\""));
}

// ---- crictl.yaml -----------------------------------------------------------------------------

TEST(CrictlConfigTest, ParsesCrictlsKeys) {
  auto c = ParseCrictlConfig(
      "# written by crictl config\n"
      "runtime-endpoint: unix:///run/containerd/containerd.sock\n"
      "image-endpoint: \"unix:///run/img.sock\"   # quoted\n"
      "timeout: 10\n"
      "debug: true\n"
      "pull-image-on-create: false\n"
      "disable-pull-on-run: 'False'\n"
      "max-retries: 3\n"
      "enable-streaming: 1\n",
      "crictl.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->runtime_endpoint, "unix:///run/containerd/containerd.sock");
  EXPECT_EQ(c->image_endpoint, "unix:///run/img.sock");
  EXPECT_EQ(c->timeout, seconds(10));
  EXPECT_EQ(c->debug, true);
  EXPECT_EQ(c->pull_image_on_create, false);
  EXPECT_EQ(c->disable_pull_on_run, false);
  EXPECT_EQ(c->max_retries, 3);
  EXPECT_EQ(c->enable_streaming, true);
}

TEST(CrictlConfigTest, CommentsBlankLinesMarkersAndQuotes) {
  auto c = ParseCrictlConfig(
      "\xEF\xBB\xBF---\n"
      "\n"
      "   # indented comment\n"
      "runtime-endpoint: unix:///run/a#b.sock # a '#' inside a value stays\r\n"
      "'image-endpoint': 'it''s.sock'\n"
      "timeout: \"1m\"\n"
      "...\n",
      "crictl.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->runtime_endpoint, "unix:///run/a#b.sock");
  EXPECT_EQ(c->image_endpoint, "it's.sock");
  EXPECT_EQ(c->timeout, seconds(60));
  EXPECT_FALSE(c->debug.has_value());
}

TEST(CrictlConfigTest, HashInsideQuotesIsNotAComment) {
  auto c = ParseCrictlConfig(
      "runtime-endpoint: \"unix:///a #b\"  # comment\nimage-endpoint: 'x # y'\n"
      "debug: true # trailing: comment\n",
      "f");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->runtime_endpoint, "unix:///a #b");
  EXPECT_EQ(c->image_endpoint, "x # y");
  EXPECT_EQ(c->debug, true);
}

TEST(CrictlConfigTest, EscapesInDoubleQuotes) {
  auto c = ParseCrictlConfig("runtime-endpoint: \"a\\\"b\\\\c\"\n", "f");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->runtime_endpoint, "a\"b\\c");
}

TEST(CrictlConfigTest, EmptyValuesMeanUnsetAsInCrictl) {
  auto c = ParseCrictlConfig("runtime-endpoint: \"\"\nimage-endpoint:\ntimeout: 0\n", "f");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_FALSE(c->runtime_endpoint.has_value());
  EXPECT_FALSE(c->image_endpoint.has_value());
  EXPECT_FALSE(c->timeout.has_value());
}

TEST(CrictlConfigTest, EmptyFileIsFine) {
  EXPECT_TRUE(ParseCrictlConfig("", "f").ok());
  EXPECT_TRUE(ParseCrictlConfig("# nothing\n\n", "f").ok());
}

TEST(CrictlConfigTest, ErrorsNameFileAndLine) {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"debug: true\nbogus: 1\n", "/etc/crictl.yaml:2: unknown key \"bogus\""},
      {"\n\ntimeout: soon\n", "/etc/crictl.yaml:3: timeout: expected seconds"},
      {"debug: maybe\n", "/etc/crictl.yaml:1: debug: expected true or false, got \"maybe\""},
      {"max-retries: -1\n", "/etc/crictl.yaml:1: max-retries: expected a whole number"},
      {"debug: true\ndebug: false\n", "/etc/crictl.yaml:2: key \"debug\" is set twice"},
      {"runtime-endpoint\n", "/etc/crictl.yaml:1: expected \"key: value\""},
      {"runtime-endpoint: \"unix:///a\n", "/etc/crictl.yaml:1: unterminated quoted value"},
      {"runtime-endpoint: 'a' b\n", "/etc/crictl.yaml:1: unexpected text after quoted value"},
      {"runtime-endpoint:\n  nested: x\n", "/etc/crictl.yaml:2: unexpected indentation"},
      {"runtime-endpoint: [a, b]\n", "/etc/crictl.yaml:1: value \"[a, b]\" uses YAML syntax"},
      {"- a\n", "/etc/crictl.yaml:1: expected \"key: value\""},
  };
  for (const Case& c : cases) {
    auto r = ParseCrictlConfig(c.text, "/etc/crictl.yaml");
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(r.status().message(), HasSubstr(c.message)) << c.text;
  }
}

TEST(CrictlConfigTest, LoadReportsMissingFileAsNotFound) {
  testing::TempDir dir;
  auto r = LoadCrictlConfig(dir / "absent.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
}

// ---- precedence ------------------------------------------------------------------------------

class ResolveTest : public ::testing::Test {
 protected:
  EnvLookup Env() const {
    return [this](const char* name) -> std::optional<std::string> {
      auto it = env_.find(name);
      if (it == env_.end()) return std::nullopt;
      return it->second;
    };
  }
  std::string WriteConfig(const std::string& text) {
    std::string path = dir_ / "crictl.yaml";
    std::ofstream(path) << text;
    return path;
  }
  // Never reads the machine's /etc/crictl.yaml.
  Result<Options> Resolve(const GlobalFlags& flags) {
    return ResolveOptions(flags, Env(), dir_ / "default-crictl.yaml");
  }
  Options MustResolve(const GlobalFlags& flags) {
    auto o = Resolve(flags);
    EXPECT_TRUE(o.ok()) << o.status().ToString();
    return o.ok() ? *o : Options{};
  }

  testing::TempDir dir_;
  std::map<std::string, std::string> env_;
};

TEST_F(ResolveTest, Defaults) {
  GlobalFlags flags;
  flags.config = WriteConfig("");
  Options o = MustResolve(flags);
  EXPECT_EQ(o.runtime_endpoint, "unix:///run/berth/berth.sock");
  EXPECT_EQ(o.runtime_target, "unix:///run/berth/berth.sock");
  EXPECT_EQ(o.image_endpoint, o.runtime_endpoint);
  EXPECT_EQ(o.timeout, seconds(2));
  EXPECT_FALSE(o.debug);
  EXPECT_TRUE(o.config_loaded);
}

TEST_F(ResolveTest, ConfigOverridesDefaults) {
  GlobalFlags flags;
  flags.config = WriteConfig("runtime-endpoint: /cfg/runtime.sock\ntimeout: 7\ndebug: true\n");
  Options o = MustResolve(flags);
  EXPECT_EQ(o.runtime_endpoint, "/cfg/runtime.sock");
  EXPECT_EQ(o.runtime_target, "unix:///cfg/runtime.sock");
  EXPECT_EQ(o.image_endpoint, "/cfg/runtime.sock") << "image endpoint defaults to runtime's";
  EXPECT_EQ(o.timeout, seconds(7));
  EXPECT_TRUE(o.debug);
}

TEST_F(ResolveTest, EnvOverridesConfig) {
  GlobalFlags flags;
  flags.config =
      WriteConfig("runtime-endpoint: /cfg/runtime.sock\nimage-endpoint: /cfg/image.sock\n");
  env_["CONTAINER_RUNTIME_ENDPOINT"] = "unix:///env/runtime.sock";
  Options o = MustResolve(flags);
  EXPECT_EQ(o.runtime_endpoint, "unix:///env/runtime.sock");
  EXPECT_EQ(o.image_endpoint, "/cfg/image.sock");
  env_["IMAGE_SERVICE_ENDPOINT"] = "unix:///env/image.sock";
  o = MustResolve(flags);
  EXPECT_EQ(o.image_endpoint, "unix:///env/image.sock");
}

TEST_F(ResolveTest, FlagsOverrideEverything) {
  GlobalFlags flags;
  flags.config = WriteConfig(
      "runtime-endpoint: /cfg/runtime.sock\nimage-endpoint: /cfg/image.sock\ntimeout: 7\n"
      "debug: true\n");
  env_["CONTAINER_RUNTIME_ENDPOINT"] = "/env/runtime.sock";
  env_["IMAGE_SERVICE_ENDPOINT"] = "/env/image.sock";
  flags.runtime_endpoint = "localhost:1234";
  flags.image_endpoint = "/flag/image.sock";
  flags.timeout = "500ms";
  flags.debug = false;  // --debug=false beats debug: true in the file
  Options o = MustResolve(flags);
  EXPECT_EQ(o.runtime_endpoint, "localhost:1234");
  EXPECT_EQ(o.runtime_target, "localhost:1234");
  EXPECT_EQ(o.image_endpoint, "/flag/image.sock");
  EXPECT_EQ(o.image_target, "unix:///flag/image.sock");
  EXPECT_EQ(o.timeout, milliseconds(500));
  EXPECT_FALSE(o.debug);
}

TEST_F(ResolveTest, ImageEndpointFollowsTheWinningRuntimeEndpoint) {
  GlobalFlags flags;
  flags.config = WriteConfig("runtime-endpoint: /cfg/runtime.sock\n");
  flags.runtime_endpoint = "/flag/runtime.sock";
  Options o = MustResolve(flags);
  EXPECT_EQ(o.image_endpoint, "/flag/runtime.sock");
}

TEST_F(ResolveTest, PlainNumberTimeoutIsSeconds) {
  GlobalFlags flags;
  flags.config = WriteConfig("");
  flags.timeout = "3";
  EXPECT_EQ(MustResolve(flags).timeout, seconds(3));
}

TEST_F(ResolveTest, ConfigFileFromEnvironment) {
  env_["CRI_CONFIG_FILE"] = WriteConfig("runtime-endpoint: /from-env-config.sock\n");
  EXPECT_EQ(MustResolve({}).runtime_endpoint, "/from-env-config.sock");
  GlobalFlags flags;
  flags.config = dir_ / "absent.yaml";
  EXPECT_FALSE(Resolve(flags).ok()) << "--config beats CRI_CONFIG_FILE";
}

TEST_F(ResolveTest, MissingDefaultConfigIsFine) {
  auto o = ResolveOptions({}, Env(), dir_ / "no-crictl.yaml");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_FALSE(o->config_loaded);
  EXPECT_EQ(o->runtime_endpoint, kDefaultEndpoint);
}

TEST_F(ResolveTest, BrokenDefaultConfigIsStillReported) {
  auto o = ResolveOptions({}, Env(), WriteConfig("debug: perhaps\n"));
  ASSERT_FALSE(o.ok());
  EXPECT_THAT(o.status().message(), HasSubstr("crictl.yaml:1: debug"));
}

TEST_F(ResolveTest, MissingExplicitConfigIsAnError) {
  GlobalFlags flags;
  flags.config = dir_ / "absent.yaml";
  auto o = Resolve(flags);
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(o.status().message(), HasSubstr("absent.yaml"));

  env_["CRI_CONFIG_FILE"] = dir_ / "absent.yaml";
  EXPECT_FALSE(Resolve({}).ok());
}

TEST_F(ResolveTest, BadConfigIsAnError) {
  GlobalFlags flags;
  flags.config = WriteConfig("timeout: 10\nruntime-endpoint: http://x\n");
  auto o = Resolve(flags);
  ASSERT_FALSE(o.ok());
  EXPECT_THAT(o.status().message(), HasSubstr("crictl.yaml: runtime-endpoint"));
  EXPECT_THAT(o.status().message(), HasSubstr("unsupported scheme"));

  flags.config = WriteConfig("timeout: 10\nnope: 1\n");
  o = Resolve(flags);
  ASSERT_FALSE(o.ok());
  EXPECT_THAT(o.status().message(), HasSubstr("crictl.yaml:2: unknown key \"nope\""));
}

TEST_F(ResolveTest, BadFlagsAreErrors) {
  GlobalFlags flags;
  flags.config = WriteConfig("");
  flags.timeout = "0";
  EXPECT_THAT(Resolve(flags).status().message(), HasSubstr("--timeout"));
  flags.timeout = "soon";
  EXPECT_THAT(Resolve(flags).status().message(), HasSubstr("--timeout"));
  flags.timeout.reset();
  flags.runtime_endpoint = "";
  EXPECT_THAT(Resolve(flags).status().message(), HasSubstr("--runtime-endpoint must not be empty"));
  flags.runtime_endpoint = "ftp://x";
  EXPECT_THAT(Resolve(flags).status().message(), HasSubstr("--runtime-endpoint"));
  flags.runtime_endpoint.reset();
  env_["CONTAINER_RUNTIME_ENDPOINT"] = "ftp://x";
  EXPECT_THAT(Resolve(flags).status().message(), HasSubstr("CONTAINER_RUNTIME_ENDPOINT"));
}

}  // namespace
}  // namespace berth::cli
