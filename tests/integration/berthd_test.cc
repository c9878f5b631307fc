// berthd as a process: startup, the socket's permissions, the RPCs it answers today, the
// UNIMPLEMENTED answers for the rest, the root lock, shutdown and restart after SIGKILL.

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <fstream>
#include <map>

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api/cri.h"
#include "introspection.grpc.pb.h"
#include "tests/support/berthd_process.h"

namespace berth::testing {
namespace {

using runtime::v1::ImageService;
using runtime::v1::RuntimeService;

std::shared_ptr<grpc::Channel> Connect(const BerthdProcess& d) {
  return grpc::CreateChannel(d.endpoint(), grpc::InsecureChannelCredentials());
}

void SetDeadline(grpc::ClientContext& ctx) {
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
}

class BerthdTest : public ::testing::Test {
 protected:
  void SetUp() override { BERTH_REQUIRE_ROOT(); }
};

TEST_F(BerthdTest, ServesVersionStatusAndRuntimeConfig) {
  BerthdProcess d;
  ASSERT_TRUE(d.Start()) << d.Stderr();
  auto stub = RuntimeService::NewStub(Connect(d));

  {
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    runtime::v1::VersionRequest req;
    req.set_version("v1");
    runtime::v1::VersionResponse resp;
    grpc::Status s = stub->Version(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(resp.runtime_name(), "berth");
    EXPECT_EQ(resp.runtime_api_version(), "v1");
    EXPECT_EQ(resp.runtime_version(), BERTH_VERSION);
    EXPECT_EQ(resp.version(), "0.1.0");
  }
  {
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    runtime::v1::StatusRequest req;
    req.set_verbose(true);
    runtime::v1::StatusResponse resp;
    ASSERT_TRUE(stub->Status(&ctx, req, &resp).ok());
    ASSERT_EQ(resp.status().conditions_size(), 2);
    EXPECT_EQ(resp.status().conditions(0).type(), "RuntimeReady");
    EXPECT_EQ(resp.status().conditions(1).type(), "NetworkReady");
    // No plugins in this daemon's plugin dir: neither can be ready, and each says why.
    EXPECT_FALSE(resp.status().conditions(0).status());
    EXPECT_EQ(resp.status().conditions(0).reason(), "NoRuntimePlugin");
    EXPECT_FALSE(resp.status().conditions(1).message().empty());
    ASSERT_TRUE(resp.info().contains("config"));
    auto config = nlohmann::json::parse(resp.info().at("config"));
    EXPECT_EQ(config["socket"], d.socket());
    ASSERT_TRUE(resp.info().contains("plugins"));
    EXPECT_TRUE(nlohmann::json::parse(resp.info().at("plugins")).is_array());
  }
  {
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    runtime::v1::StatusResponse resp;
    ASSERT_TRUE(stub->Status(&ctx, runtime::v1::StatusRequest(), &resp).ok());
    EXPECT_TRUE(resp.info().empty()) << "info is only for verbose requests";
  }
  {
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    runtime::v1::RuntimeConfigResponse resp;
    ASSERT_TRUE(stub->RuntimeConfig(&ctx, runtime::v1::RuntimeConfigRequest(), &resp).ok());
    EXPECT_EQ(resp.linux().cgroup_driver(), runtime::v1::CgroupDriver::CGROUPFS);
  }
}

TEST_F(BerthdTest, SocketIsRootOnly) {
  BerthdProcess d;
  ASSERT_TRUE(d.Start()) << d.Stderr();
  struct stat st {};
  ASSERT_EQ(::stat(d.socket().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  EXPECT_EQ(st.st_uid, 0u);
  EXPECT_EQ(st.st_gid, 0u);
  ASSERT_EQ(::stat(d.state().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u) << "socket directory must be root-only";
  ASSERT_EQ(::stat(d.root().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

// Every CRI RPC is served now; the one berth does not support answers UNIMPLEMENTED with its own
// reason, which UnimplementedInterceptor (for RPCs without a handler) leaves alone.
TEST_F(BerthdTest, NewestRpcsAnswerAndStreamsEndOnAFreshDaemon) {
  BerthdProcess d;
  ASSERT_TRUE(d.Start()) << d.Stderr();
  auto channel = Connect(d);
  auto runtime = RuntimeService::NewStub(channel);
  auto images = ImageService::NewStub(channel);

  {
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    runtime::v1::CheckpointContainerResponse resp;
    grpc::Status s =
        runtime->CheckpointContainer(&ctx, runtime::v1::CheckpointContainerRequest(), &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNIMPLEMENTED);
    EXPECT_NE(s.error_message().find("CRIU"), std::string::npos) << s.error_message();
  }
  {
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    runtime::v1::UpdatePodSandboxResourcesResponse resp;
    // Implemented (tests/integration/cri_stream_lists_test.cc): an empty id is refused.
    grpc::Status s = runtime->UpdatePodSandboxResources(
        &ctx, runtime::v1::UpdatePodSandboxResourcesRequest(), &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  }
  {
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    runtime::v1::ListImagesResponse resp;
    // The image service is implemented now (tests/integration/image_service_test.cc): a fresh
    // daemon answers with an empty list.
    grpc::Status s = images->ListImages(&ctx, runtime::v1::ListImagesRequest(), &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(resp.images_size(), 0);
  }
  {
    // A server-streaming list RPC with nothing to list ends at once: no message, status OK.
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    auto reader =
        runtime->StreamPodSandboxMetrics(&ctx, runtime::v1::StreamPodSandboxMetricsRequest());
    runtime::v1::StreamPodSandboxMetricsResponse event;
    EXPECT_FALSE(reader->Read(&event));
    grpc::Status s = reader->Finish();
    EXPECT_TRUE(s.ok()) << s.error_message();
  }
}

TEST_F(BerthdTest, IntrospectionListsPlugins) {
  BerthdProcess d;
  ASSERT_TRUE(d.Start()) << d.Stderr();
  auto stub = berth::v1::Introspection::NewStub(Connect(d));
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  berth::v1::ListPluginsResponse resp;
  ASSERT_TRUE(stub->ListPlugins(&ctx, berth::v1::ListPluginsRequest(), &resp).ok());
  EXPECT_EQ(resp.plugins_size(), 0);  // the plugin dir of this daemon is empty
}

// The native runtime and the native snapshotter share the name "native": a bare "native" key
// in the plugins config cannot say whose it is, so both are refused with a reason; typed keys
// configure each.
TEST_F(BerthdTest, AmbiguousPluginConfigKeyIsRefusedNamingBothPlugins) {
  auto natives = [](const std::string& plugins_json) {
    TempDir dir;
    std::ofstream(dir / "config.json") << R"({"plugins": )" << plugins_json << "}";
    BerthdProcess d({"--config", dir / "config.json"}, BERTH_PLUGIN_BUILD_DIR);
    std::map<std::string, berth::v1::Plugin> out;
    if (!d.Start()) {
      ADD_FAILURE() << d.Stderr();
      return out;
    }
    auto stub = berth::v1::Introspection::NewStub(Connect(d));
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    berth::v1::ListPluginsResponse resp;
    EXPECT_TRUE(stub->ListPlugins(&ctx, berth::v1::ListPluginsRequest(), &resp).ok());
    for (const auto& p : resp.plugins())
      if (p.name() == "native") out[p.type()] = p;
    return out;
  };
  auto bare = natives(R"({"native": {}})");
  ASSERT_EQ(bare.size(), 2u);
  for (const auto& [type, p] : bare) {
    EXPECT_EQ(p.status(), "error") << type;
    EXPECT_NE(p.error().find("use the type-qualified key"), std::string::npos) << p.error();
    EXPECT_NE(p.error().find("io.berth.runtime.v1/native"), std::string::npos) << p.error();
  }
  auto typed =
      natives(R"({"io.berth.runtime.v1/native": {}, "io.berth.snapshotter.v1/native": {}})");
  ASSERT_EQ(typed.size(), 2u);
  for (const auto& [type, p] : typed) EXPECT_EQ(p.status(), "ok") << type << ": " << p.error();
}

TEST_F(BerthdTest, SecondDaemonOnSameRootRefuses) {
  BerthdProcess first;
  ASSERT_TRUE(first.Start()) << first.Stderr();
  BerthdProcess second;
  second.set_root(first.root());
  EXPECT_FALSE(second.Start(5000));
  int status = second.WaitExit(5000);
  (void)status;
  EXPECT_NE(second.Stderr().find("is in use by berthd pid " + std::to_string(first.pid())),
            std::string::npos)
      << second.Stderr();
}

TEST_F(BerthdTest, SecondDaemonOnSameSocketRefuses) {
  BerthdProcess first;
  ASSERT_TRUE(first.Start()) << first.Stderr();
  BerthdProcess second;
  second.set_socket(first.socket());
  EXPECT_FALSE(second.Start(5000));
  EXPECT_NE(second.Stderr().find("another server is already listening on " + first.socket()),
            std::string::npos)
      << second.Stderr();
  // The first one still serves.
  auto stub = RuntimeService::NewStub(Connect(first));
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  runtime::v1::VersionResponse resp;
  EXPECT_TRUE(stub->Version(&ctx, runtime::v1::VersionRequest(), &resp).ok());
}

TEST_F(BerthdTest, SigtermRemovesSocketAndExitsZero) {
  BerthdProcess d;
  ASSERT_TRUE(d.Start()) << d.Stderr();
  int status = d.Stop(SIGTERM);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  struct stat st {};
  EXPECT_NE(::stat(d.socket().c_str(), &st), 0) << "socket left behind";
}

// kubelet keeps its connection open between calls: an idle client must not hold SIGTERM for
// the in-flight grace period (5 s), which only calls that are still running deserve.
TEST_F(BerthdTest, SigtermWithAnIdleConnectedClientIsPrompt) {
  BerthdProcess d;
  ASSERT_TRUE(d.Start()) << d.Stderr();
  auto stub = RuntimeService::NewStub(Connect(d));
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  runtime::v1::VersionResponse resp;
  ASSERT_TRUE(stub->Version(&ctx, runtime::v1::VersionRequest(), &resp).ok());
  auto t0 = std::chrono::steady_clock::now();
  int status = d.Stop(SIGTERM);
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_LT(took, std::chrono::seconds(3)) << "shutdown waited for an idle connection";
}

TEST_F(BerthdTest, RestartsAfterSigkill) {
  BerthdProcess d;
  ASSERT_TRUE(d.Start()) << d.Stderr();
  d.Stop(SIGKILL);
  struct stat st {};
  ASSERT_EQ(::stat(d.socket().c_str(), &st), 0) << "SIGKILL leaves the socket file";
  BerthdProcess again;
  again.set_root(d.root());
  again.set_socket(d.socket());
  ASSERT_TRUE(again.Start()) << again.Stderr();
  auto stub = RuntimeService::NewStub(Connect(again));
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  runtime::v1::VersionResponse resp;
  EXPECT_TRUE(stub->Version(&ctx, runtime::v1::VersionRequest(), &resp).ok());
}

TEST_F(BerthdTest, BadConfigFileIsRefusedNamingTheKey) {
  TempDir dir;
  std::ofstream(dir / "config.json") << R"({"root": "/tmp/x", "plugin_dir": ["/typo"]})";
  BerthdProcess d({"--config", dir / "config.json"});
  EXPECT_FALSE(d.Start(5000));
  EXPECT_NE(d.Stderr().find("plugin_dir: unknown key"), std::string::npos) << d.Stderr();
}

TEST_F(BerthdTest, BadLogLevelIsRefused) {
  BerthdProcess d({"--log-level", "loud"});
  EXPECT_FALSE(d.Start(5000));
  EXPECT_NE(d.Stderr().find("\"loud\" is not one of"), std::string::npos) << d.Stderr();
}

}  // namespace
}  // namespace berth::testing
