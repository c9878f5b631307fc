// The plugin SDK as a third party gets it: `cmake --install --component sdk` into a fresh
// prefix (no root), build docs/examples/hello-plugin against that prefix alone with its own
// CMake run, and load the result with the real PluginHost.
//
// Work directory (kept, so that later tests and people can use the built plugin):
//   <build>/tests/integration/sdk-install/{prefix,hello-build/hello.so,*.log}

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "berth/plugin/v1/network.pb.h"
#include "cri/plugin_host/plugin_host.h"

namespace berth {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::string kWork = BERTH_SDK_TEST_DIR;
const std::string kPrefix = kWork + "/prefix";
const std::string kExampleBuild = kWork + "/hello-build";

std::string Quote(const std::string& s) { return "'" + s + "'"; }

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs `cmd` with its output in <work>/<log>; returns "" on success, else the log.
std::string RunLogged(const std::string& cmd, const std::string& log) {
  std::string log_path = kWork + "/" + log;
  int rc = std::system((cmd + " >" + Quote(log_path) + " 2>&1").c_str());
  if (rc == 0) return "";
  return "command failed (" + std::to_string(rc) + "): " + cmd + "\n" + ReadAll(log_path);
}

TEST(SdkInstallTest, ExamplePluginBuildsAgainstInstalledSdkAndLoads) {
  fs::remove_all(kPrefix);
  fs::remove_all(kExampleBuild);
  fs::create_directories(kWork);
  const std::string cmake = Quote(BERTH_CMAKE_COMMAND);

  // 1. Install only the SDK component, as an unprivileged user could.
  ASSERT_EQ(RunLogged(cmake + " --install " + Quote(BERTH_BUILD_DIR) +
                          " --component sdk --prefix " + Quote(kPrefix),
                      "install.log"),
            "");
  EXPECT_TRUE(fs::exists(kPrefix + "/include/berth/plugin_abi.h"));
  EXPECT_TRUE(fs::exists(kPrefix + "/include/berth/sdk/plugin.h"));
  EXPECT_TRUE(fs::exists(kPrefix + "/share/berth/proto/berth/plugin/v1/runtime.proto"));
  EXPECT_FALSE(fs::exists(kPrefix + "/bin")) << "the sdk component installs no programs";

  // 2. Configure and build the example with its own CMake run, seeing only the prefix.
  std::string configure = cmake + " -S " + Quote(BERTH_SOURCE_DIR "/docs/examples/hello-plugin") +
                          " -B " + Quote(kExampleBuild) + " -G " + Quote(BERTH_GENERATOR) +
                          " -DCMAKE_MAKE_PROGRAM=" + Quote(BERTH_MAKE_PROGRAM) +
                          " -DCMAKE_CXX_COMPILER=" + Quote(BERTH_CXX_COMPILER) +
                          " -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=" + Quote(kPrefix) +
                          " -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF";
  if (std::string(BERTH_CCACHE).size() > 0) {
    configure += " -DCMAKE_CXX_COMPILER_LAUNCHER=" + Quote(BERTH_CCACHE);
  }
  ASSERT_EQ(RunLogged(configure, "configure.log"), "");
  EXPECT_THAT(ReadAll(kExampleBuild + "/CMakeCache.txt"),
              HasSubstr("Berth_DIR:PATH=" + kPrefix + "/"));
  ASSERT_EQ(RunLogged(cmake + " --build " + Quote(kExampleBuild), "build.log"), "");
  ASSERT_TRUE(fs::exists(kExampleBuild + "/hello.so"));

  // 3. Load it as berthd would.
  std::string log;
  Logger logger(LogLevel::kDebug, [&](std::string_view line) { log.append(line); });
  PluginHost host(logger, {{"hello", {{"greeting", "hi"}}}});
  host.LoadAll({kExampleBuild});
  std::vector<PluginRecord> plugins = host.List();
  ASSERT_EQ(plugins.size(), 1u) << log;
  EXPECT_EQ(plugins[0].status, "ok") << plugins[0].error;
  EXPECT_EQ(plugins[0].type, BERTH_PLUGIN_TYPE_NETWORK);
  EXPECT_EQ(plugins[0].name, "hello");
  EXPECT_EQ(plugins[0].version, "1.0.0");
  EXPECT_EQ(plugins[0].path, kExampleBuild + "/hello.so");

  PluginHandle* hello = host.Find(BERTH_PLUGIN_TYPE_NETWORK, "hello");
  ASSERT_NE(hello, nullptr);
  plugin::v1::SetupNetworkRequest setup;
  setup.mutable_pod()->set_pod_id("p1");
  setup.mutable_pod()->set_name("web");
  ASSERT_TRUE(hello->Invoke("Setup", setup, nullptr).ok());
  plugin::v1::NetworkStatusResponse status;
  Status s = hello->Invoke("Status", plugin::v1::NetworkStatusRequest(), &status);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(status.ready());
  EXPECT_THAT(status.message(), StartsWith("hello from an out-of-tree berth plugin (1 pods"));
  EXPECT_THAT(log, HasSubstr("hello plugin starting with config {\\\"greeting\\\":\\\"hi\\\"}"));
  EXPECT_THAT(log, HasSubstr("plugin=hello"));
}

}  // namespace
}  // namespace berth
