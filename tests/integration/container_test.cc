// CRI containers end to end (root): a real berthd with the overlay snapshotter and the native
// runtime, the project's busybox/configured test images imported, host-network pods (no CNI
// needed), real containers. Covers the lifecycle, exit codes and reasons, CRI log files,
// ExecSync (output, exit code, timeout), image config defaults and overrides, users, read-only
// rootfs, capabilities, duplicate names, bad input (nothing left behind) and berthd restarts.

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api/cri.h"
#include "common/fs.h"
#include "images.grpc.pb.h"
#include "tests/integration/image_service_fixture.h"
#include "tests/support/berthd_process.h"
#include "tests/support/test_env.h"

namespace berth::testing {
namespace {

namespace cri = runtime::v1;

class ContainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    BERTH_REQUIRE_ROOT();
    ASSERT_TRUE(TestImages::Get().ok()) << TestImages::Get().error();
    // Shim sockets are <state_dir>/tasks/<64-hex id>/shim.sock: the default state dir under the
    // test's temp dir would pass the 107-byte sun_path limit, so give the plugin a short one.
    nlohmann::json cfg = {
        {"snapshotter", "overlay"},
        {"plugins", {{"io.berth.runtime.v1/native", {{"state_dir", shim_dir_.path()}}}}}};
    std::ofstream(dir_ / "berthd.json") << cfg.dump();
    berthd_ = std::make_unique<BerthdProcess>(
        std::vector<std::string>{"--config", dir_ / "berthd.json"}, BERTH_PLUGIN_BUILD_DIR);
    ASSERT_TRUE(berthd_->Start(20000)) << berthd_->Stderr();
    Connect();
    busybox_ = Import("busybox", "docker.io/library/busybox:test");
    configured_ = Import("configured", "docker.io/library/configured:test");
    ASSERT_FALSE(busybox_.empty());
    pod_ = RunPod("pod-a");
    ASSERT_FALSE(pod_.empty());
  }

  void TearDown() override {
    if (!berthd_) return;
    if (rt_) {
      for (const auto& c : ListContainers()) {
        grpc::ClientContext ctx;
        cri::RemoveContainerRequest req;
        cri::RemoveContainerResponse resp;
        req.set_container_id(c.id());
        EXPECT_TRUE(rt_->RemoveContainer(&ctx, req, &resp).ok());
      }
      for (const std::string& p : pods_) {
        grpc::ClientContext ctx;
        cri::RemovePodSandboxRequest req;
        cri::RemovePodSandboxResponse resp;
        req.set_pod_sandbox_id(p);
        (void)rt_->RemovePodSandbox(&ctx, req, &resp);
      }
    }
    if (HasFailure()) std::cerr << "berthd stderr:\n" << berthd_->Stderr() << "\n";
    berthd_->Stop(SIGTERM);
  }

  void Connect() {
    auto ch = grpc::CreateChannel(berthd_->endpoint(), grpc::InsecureChannelCredentials());
    rt_ = cri::RuntimeService::NewStub(ch);
    images_ = berth::v1::Images::NewStub(ch);
  }

  std::string Import(const std::string& layout, const std::string& name) {
    grpc::ClientContext ctx;
    berth::v1::ImportImageRequest req;
    berth::v1::ImportImageResponse resp;
    req.set_path(TestImages::Get().path(layout));
    req.set_name(name);
    grpc::Status s = images_->Import(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return s.ok() && resp.images_size() ? resp.images(0).id() : "";
  }

  std::string RunPod(const std::string& name) {
    cri::RunPodSandboxRequest req;
    auto* c = req.mutable_config();
    c->mutable_metadata()->set_name(name);
    c->mutable_metadata()->set_uid(name + "-uid");
    c->mutable_metadata()->set_namespace_("test");
    c->set_log_directory(dir_ / ("logs-" + name));
    auto* ns = c->mutable_linux()->mutable_security_context()->mutable_namespace_options();
    ns->set_network(cri::NODE);
    ns->set_pid(cri::CONTAINER);  // POD needs an infra process, which pods do not run yet
    grpc::ClientContext ctx;
    cri::RunPodSandboxResponse resp;
    grpc::Status s = rt_->RunPodSandbox(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message() << "\n" << berthd_->Stderr();
    if (s.ok()) pods_.push_back(resp.pod_sandbox_id());
    return resp.pod_sandbox_id();
  }

  cri::ContainerConfig Config(const std::string& name, std::vector<std::string> cmd,
                              const std::string& image = "docker.io/library/busybox:test") {
    cri::ContainerConfig c;
    c.mutable_metadata()->set_name(name);
    c.mutable_image()->set_image(image);
    for (auto& a : cmd) c.add_command(a);
    c.set_log_path(name + ".log");
    return c;
  }

  grpc::Status Create(const cri::ContainerConfig& config, std::string* id,
                      const std::string& pod = "") {
    grpc::ClientContext ctx;
    cri::CreateContainerRequest req;
    cri::CreateContainerResponse resp;
    req.set_pod_sandbox_id(pod.empty() ? pod_ : pod);
    *req.mutable_config() = config;
    grpc::Status s = rt_->CreateContainer(&ctx, req, &resp);
    if (id) *id = resp.container_id();
    return s;
  }

  grpc::Status Start(const std::string& id) {
    grpc::ClientContext ctx;
    cri::StartContainerRequest req;
    cri::StartContainerResponse resp;
    req.set_container_id(id);
    return rt_->StartContainer(&ctx, req, &resp);
  }

  // Creates and starts; fails the test when either fails.
  std::string Run(const cri::ContainerConfig& config) {
    std::string id;
    grpc::Status s = Create(config, &id);
    EXPECT_TRUE(s.ok()) << s.error_message();
    if (!s.ok()) return "";
    s = Start(id);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return id;
  }

  grpc::Status Stop(const std::string& id, int64_t timeout) {
    grpc::ClientContext ctx;
    cri::StopContainerRequest req;
    cri::StopContainerResponse resp;
    req.set_container_id(id);
    req.set_timeout(timeout);
    return rt_->StopContainer(&ctx, req, &resp);
  }

  cri::ContainerStatus Status(const std::string& id, std::string* info = nullptr) {
    grpc::ClientContext ctx;
    cri::ContainerStatusRequest req;
    cri::ContainerStatusResponse resp;
    req.set_container_id(id);
    req.set_verbose(info != nullptr);
    grpc::Status s = rt_->ContainerStatus(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    if (info) *info = resp.info().count("info") ? resp.info().at("info") : "";
    return resp.status();
  }

  cri::ContainerStatus WaitExited(const std::string& id, int seconds = 20) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    cri::ContainerStatus st;
    while (std::chrono::steady_clock::now() < deadline) {
      st = Status(id);
      if (st.state() == cri::CONTAINER_EXITED) return st;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "container " << id << " did not exit";
    return st;
  }

  std::vector<cri::Container> ListContainers() {
    grpc::ClientContext ctx;
    cri::ListContainersRequest req;
    cri::ListContainersResponse resp;
    EXPECT_TRUE(rt_->ListContainers(&ctx, req, &resp).ok());
    return {resp.containers().begin(), resp.containers().end()};
  }

  grpc::Status Exec(const std::string& id, std::vector<std::string> cmd, cri::ExecSyncResponse* out,
                    int64_t timeout = 10) {
    grpc::ClientContext ctx;
    cri::ExecSyncRequest req;
    req.set_container_id(id);
    for (auto& c : cmd) req.add_cmd(c);
    req.set_timeout(timeout);
    return rt_->ExecSync(&ctx, req, out);
  }

  // stdout of a successful exec.
  std::string ExecOut(const std::string& id, std::vector<std::string> cmd) {
    cri::ExecSyncResponse r;
    grpc::Status s = Exec(id, std::move(cmd), &r);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return r.stdout();
  }

  std::string LogOf(const std::string& pod_name, const std::string& name) {
    Result<std::string> t = ReadFile(dir_ / ("logs-" + pod_name + "/" + name + ".log"));
    return t.ok() ? *t : "";
  }

  size_t ContainerDirs() const {
    std::error_code ec;
    size_t n = 0;
    for ([[maybe_unused]] auto& e :
         std::filesystem::directory_iterator(berthd_->root() + "/containers", ec))
      ++n;
    return n;
  }

  TempDir dir_, shim_dir_;
  std::unique_ptr<BerthdProcess> berthd_;
  std::unique_ptr<cri::RuntimeService::Stub> rt_;
  std::unique_ptr<berth::v1::Images::Stub> images_;
  std::string busybox_, configured_, pod_;
  std::vector<std::string> pods_;
};

TEST_F(ContainerTest, LifecycleExitCodeReasonAndLog) {
  std::string id = Run(Config("err", {"sh", "-c", "echo out; echo err >&2; exit 3"}));
  ASSERT_FALSE(id.empty());
  cri::ContainerStatus st = WaitExited(id);
  EXPECT_EQ(st.exit_code(), 3);
  EXPECT_EQ(st.reason(), "Error");
  EXPECT_GT(st.started_at(), 0);
  EXPECT_GE(st.finished_at(), st.started_at());
  EXPECT_EQ(st.image_ref(), busybox_);
  EXPECT_EQ(st.metadata().name(), "err");
  EXPECT_EQ(st.log_path(), dir_ / "logs-pod-a/err.log");
  std::string log = LogOf("pod-a", "err");
  EXPECT_TRUE(std::regex_search(log, std::regex(R"(^\S+Z stdout F out$)", std::regex::multiline)))
      << log;
  EXPECT_TRUE(std::regex_search(log, std::regex(R"(^\S+Z stderr F err$)", std::regex::multiline)))
      << log;

  std::string ok = Run(Config("ok", {"true"}));
  st = WaitExited(ok);
  EXPECT_EQ(st.exit_code(), 0);
  EXPECT_EQ(st.reason(), "Completed");

  // Remove is idempotent and leaves nothing.
  for (const std::string& c : {id, ok}) {
    grpc::ClientContext ctx;
    cri::RemoveContainerRequest req;
    cri::RemoveContainerResponse resp;
    req.set_container_id(c);
    EXPECT_TRUE(rt_->RemoveContainer(&ctx, req, &resp).ok());
    grpc::ClientContext ctx2;
    EXPECT_TRUE(rt_->RemoveContainer(&ctx2, req, &resp).ok());
  }
  EXPECT_TRUE(ListContainers().empty());
  EXPECT_EQ(ContainerDirs(), 0u);
}

TEST_F(ContainerTest, StopRunningContainerThenSigkill) {
  // sh as pid 1 ignores SIGTERM: the stop must fall back to SIGKILL after the timeout.
  std::string id = Run(Config("sleeper", {"sh", "-c", "sleep 1000"}));
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(Status(id).state(), cri::CONTAINER_RUNNING);
  auto list = ListContainers();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].pod_sandbox_id(), pod_);
  auto t0 = std::chrono::steady_clock::now();
  grpc::Status s = Stop(id, 1);
  EXPECT_TRUE(s.ok()) << s.error_message();
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, std::chrono::milliseconds(900));
  EXPECT_LT(took, std::chrono::seconds(8));
  cri::ContainerStatus st = Status(id);
  EXPECT_EQ(st.state(), cri::CONTAINER_EXITED);
  EXPECT_EQ(st.exit_code(), 137);
  EXPECT_TRUE(Stop(id, 1).ok());  // idempotent
}

TEST_F(ContainerTest, ExecSyncOutputExitCodeAndTimeout) {
  std::string id = Run(Config("exec", {"sleep", "1000"}));
  ASSERT_FALSE(id.empty());
  cri::ExecSyncResponse r;
  grpc::Status s = Exec(id, {"sh", "-c", "echo hi; echo oops >&2; exit 4"}, &r);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(r.stdout(), "hi\n");
  EXPECT_EQ(r.stderr(), "oops\n");
  EXPECT_EQ(r.exit_code(), 4);

  auto t0 = std::chrono::steady_clock::now();
  s = Exec(id, {"sleep", "30"}, &r, 1);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << s.error_message();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
  // The container is unharmed.
  EXPECT_EQ(ExecOut(id, {"echo", "still"}), "still\n");
  EXPECT_TRUE(Stop(id, 0).ok());
}

TEST_F(ContainerTest, ImageConfigDefaultsAndOverrides) {
  std::string id = Run(Config("cfg", {}, "docker.io/library/configured:test"));
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(ExecOut(id, {"id", "-u"}), "1000\n");
  EXPECT_EQ(ExecOut(id, {"pwd"}), "/home/berth\n");
  EXPECT_EQ(ExecOut(id, {"sh", "-c", "echo $GREETING"}), "hello from berth\n");
  // The image user's groups from /etc/group ("extra" lists berth).
  EXPECT_EQ(ExecOut(id, {"id", "-G"}), "1000 2000\n");
  for (int i = 0; i < 50 && LogOf("pod-a", "cfg").empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_NE(LogOf("pod-a", "cfg").find("stdout F hello from berth"), std::string::npos);
  EXPECT_EQ(cri::Signal_Name(Status(id).stop_signal()), "SIGUSR1");
  EXPECT_TRUE(Stop(id, 1).ok());
  // Stop sends the image's stop signal (SIGUSR1) first; `command` replaces the entrypoint.
  std::string trap =
      Run(Config("trap", {"sh", "-c", "trap 'exit 42' USR1; while true; do sleep 0.1; done"},
                 "docker.io/library/configured:test"));
  ASSERT_FALSE(trap.empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // let sh install the trap
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(Stop(trap, 20).ok());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
  EXPECT_EQ(Status(trap).exit_code(), 42);

  // args replace Cmd but keep the Entrypoint (sh -c); envs override the image's; working dir.
  cri::ContainerConfig c = Config("cfg2", {}, "docker.io/library/configured:test");
  c.add_args("echo \"$GREETING $EXTRA $(pwd)\"");
  auto* kv = c.add_envs();
  kv->set_key("GREETING");
  kv->set_value("overridden");
  kv = c.add_envs();
  kv->set_key("EXTRA");
  kv->set_value("x");
  c.set_working_dir("/tmp");
  std::string id2 = Run(c);
  cri::ContainerStatus st = WaitExited(id2);
  EXPECT_EQ(st.exit_code(), 0);
  EXPECT_NE(LogOf("pod-a", "cfg2").find("stdout F overridden x /tmp"), std::string::npos)
      << LogOf("pod-a", "cfg2");
}

TEST_F(ContainerTest, SecurityContext) {
  cri::ContainerConfig c = Config("user", {"sleep", "1000"});
  auto* sc = c.mutable_linux()->mutable_security_context();
  sc->mutable_run_as_user()->set_value(1234);
  sc->mutable_run_as_group()->set_value(4321);
  sc->set_readonly_rootfs(true);
  std::string id = Run(c);
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(ExecOut(id, {"id", "-u"}), "1234\n");
  EXPECT_EQ(ExecOut(id, {"id", "-g"}), "4321\n");
  cri::ExecSyncResponse r;
  ASSERT_TRUE(Exec(id, {"touch", "/newfile"}, &r).ok());
  EXPECT_NE(r.exit_code(), 0);
  EXPECT_NE(r.stderr().find("Read-only"), std::string::npos) << r.stderr();

  cri::ContainerConfig root = Config("nocaps", {"sleep", "1000"});
  root.mutable_linux()->mutable_security_context()->mutable_capabilities()->add_drop_capabilities(
      "ALL");
  std::string id2 = Run(root);
  ASSERT_FALSE(id2.empty());
  ASSERT_TRUE(Exec(id2, {"chown", "1000", "/tmp"}, &r).ok());
  EXPECT_NE(r.exit_code(), 0) << "chown worked without CAP_CHOWN";
  // With the default capabilities the same chown works.
  std::string id3 = Run(Config("caps", {"sleep", "1000"}));
  ASSERT_TRUE(Exec(id3, {"chown", "1000", "/tmp"}, &r).ok());
  EXPECT_EQ(r.exit_code(), 0) << r.stderr();

  std::string info;
  Status(id3, &info);
  auto j = nlohmann::json::parse(info, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << info;
  EXPECT_GT(j["pid"].get<int>(), 0);
  EXPECT_EQ(j["sandboxID"], pod_);
  EXPECT_TRUE(j["runtimeSpec"].contains("process"));
}

TEST_F(ContainerTest, DuplicateNameIsAlreadyExists) {
  std::string id;
  grpc::Status first = Create(Config("dup", {"true"}), &id);
  ASSERT_TRUE(first.ok()) << first.error_message();
  grpc::Status s = Create(Config("dup", {"true"}), nullptr);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS) << s.error_message();
  cri::ContainerConfig other = Config("dup", {"true"});
  other.mutable_metadata()->set_attempt(1);
  EXPECT_TRUE(Create(other, nullptr).ok());
  EXPECT_EQ(ListContainers().size(), 2u);
}

TEST_F(ContainerTest, BadInputLeavesNothing) {
  std::string id;
  grpc::Status s = Create(Config("x", {"true"}), &id, std::string(64, 'f'));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
  s = Create(Config("x", {"true"}, "docker.io/library/missing:1"), &id);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
  EXPECT_NE(s.error_message().find("pull it first"), std::string::npos);
  cri::ContainerConfig c = Config("x", {"true"});
  c.mutable_linux()->mutable_security_context()->mutable_run_as_group()->set_value(1);
  s = Create(c, &id);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  c = Config("x", {"true"});
  auto* sp = c.mutable_linux()->mutable_security_context()->mutable_seccomp();
  sp->set_profile_type(cri::SecurityProfile::Localhost);
  sp->set_localhost_ref("/nonexistent/berth-profile.json");
  s = Create(c, &id);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_NE(s.error_message().find("/nonexistent/berth-profile.json"), std::string::npos);
  // An image user missing from /etc/passwd fails after the snapshot was made: rolled back.
  c = Config("x", {"true"});
  c.mutable_linux()->mutable_security_context()->set_run_as_username("ghost");
  s = Create(c, &id);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  c = Config("", {"true"});
  s = Create(c, &id);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_TRUE(ListContainers().empty());
  EXPECT_EQ(ContainerDirs(), 0u);
  // The name was not left reserved by the failures.
  s = Create(Config("x", {"true"}), &id);
  EXPECT_TRUE(s.ok()) << s.error_message();
  // Unknown ids.
  grpc::ClientContext ctx;
  cri::StartContainerRequest sreq;
  cri::StartContainerResponse sresp;
  sreq.set_container_id("nope");
  EXPECT_EQ(rt_->StartContainer(&ctx, sreq, &sresp).error_code(), grpc::StatusCode::NOT_FOUND);
  grpc::ClientContext ctx2;
  cri::CheckpointContainerRequest creq;
  cri::CheckpointContainerResponse cresp;
  EXPECT_EQ(rt_->CheckpointContainer(&ctx2, creq, &cresp).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
}

TEST_F(ContainerTest, SurvivesBerthdSigkill) {
  std::string running = Run(Config("long", {"sleep", "1000"}));
  std::string shortlived = Run(Config("short", {"sh", "-c", "sleep 2; exit 7"}));
  ASSERT_FALSE(running.empty());
  ASSERT_FALSE(shortlived.empty());
  berthd_->Stop(SIGKILL);
  std::this_thread::sleep_for(std::chrono::seconds(3));  // "short" exits while berthd is down
  ASSERT_TRUE(berthd_->Start(20000)) << berthd_->Stderr();
  Connect();
  auto list = ListContainers();
  EXPECT_EQ(list.size(), 2u);
  EXPECT_EQ(Status(running).state(), cri::CONTAINER_RUNNING);
  EXPECT_EQ(ExecOut(running, {"echo", "alive"}), "alive\n");
  cri::ContainerStatus st = Status(shortlived);
  EXPECT_EQ(st.state(), cri::CONTAINER_EXITED);
  EXPECT_EQ(st.exit_code(), 7);
  EXPECT_EQ(st.reason(), "Error");
  // Exits after the restart are still seen.
  EXPECT_TRUE(Stop(running, 0).ok());
  EXPECT_EQ(Status(running).state(), cri::CONTAINER_EXITED);
}

}  // namespace
}  // namespace berth::testing
