#pragma once
// ContainerStreamsTest's fixture (container_streams_test.cc): berthd's pieces in-process on a
// test-owned CNI bridge ("bcst<n>", 10.196.<n>.0/24, see TestPodNetwork), one ready pod with
// its own network namespace (pod_), and string-backed streaming channels.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/fs.h"
#include "cri/container/container_manager.h"
#include "cri/container/container_streams.h"
#include "cri/daemon_config.h"
#include "cri/image/image_manager.h"
#include "cri/plugin_host/plugin_host.h"
#include "cri/pod/pod_manager.h"
#include "cri/runtime/runtime_handlers.h"
#include "tests/support/test_env.h"
#include "tests/support/test_pod_network.h"

namespace berth::testing {

using namespace std::chrono_literals;
using streaming::ExecStreams;

// stdin: chunks pushed by the test; End() is the client's EOF, Stop() the backend's.
class StringInput final : public streaming::InputChannel {
 public:
  void Push(std::string s) {
    std::lock_guard l(mu_);
    q_.push_back(std::move(s));
    cv_.notify_all();
  }
  void End() {
    std::lock_guard l(mu_);
    ended_ = true;
    cv_.notify_all();
  }
  size_t Read(char* buf, size_t len) override {
    std::unique_lock l(mu_);
    cv_.wait(l, [&] { return !q_.empty() || ended_ || stopped_; });
    if (stopped_ || q_.empty()) return 0;
    size_t n = std::min(len, q_.front().size());
    memcpy(buf, q_.front().data(), n);
    q_.front().erase(0, n);
    if (q_.front().empty()) q_.pop_front();
    return n;
  }
  void Stop() override {
    std::lock_guard l(mu_);
    stopped_ = true;
    cv_.notify_all();
  }
  bool stopped() {
    std::lock_guard l(mu_);
    return stopped_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> q_;
  bool ended_ = false, stopped_ = false;
};

class StringOutput final : public streaming::OutputChannel {
 public:
  bool Write(std::string_view d) override {
    std::lock_guard l(mu_);
    text_.append(d);
    cv_.notify_all();
    return true;
  }
  void Close() override {
    std::lock_guard l(mu_);
    closed_ = true;
  }
  std::string Text() {
    std::lock_guard l(mu_);
    return text_;
  }
  bool closed() {
    std::lock_guard l(mu_);
    return closed_;
  }
  bool WaitFor(const std::string& what, std::chrono::milliseconds timeout) {
    std::unique_lock l(mu_);
    return cv_.wait_for(l, timeout, [&] { return text_.find(what) != std::string::npos; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::string text_;
  bool closed_ = false;
};

// Counts bytes, and those that are not `expect`.
class CountingOutput final : public streaming::OutputChannel {
 public:
  explicit CountingOutput(char expect) : expect_(expect) {}
  bool Write(std::string_view d) override {
    bytes_ += d.size();
    for (char c : d) wrong_ += c != expect_;
    return true;
  }
  void Close() override {}
  uint64_t bytes() const { return bytes_; }
  uint64_t wrong() const { return wrong_; }

 private:
  char expect_;
  std::atomic<uint64_t> bytes_{0}, wrong_{0};
};

class QueueResize final : public streaming::ResizeChannel {
 public:
  void Push(streaming::TerminalSize s) {
    std::lock_guard l(mu_);
    q_.push_back(s);
    cv_.notify_all();
  }
  bool Next(streaming::TerminalSize* s) override {
    std::unique_lock l(mu_);
    cv_.wait(l, [&] { return !q_.empty() || stopped_; });
    if (stopped_) return false;
    *s = q_.front();
    q_.pop_front();
    return true;
  }
  void Stop() override {
    std::lock_guard l(mu_);
    stopped_ = true;
    cv_.notify_all();
  }
  bool stopped() {
    std::lock_guard l(mu_);
    return stopped_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<streaming::TerminalSize> q_;
  bool stopped_ = false;
};

class TestCancel final : public streaming::Cancellation {
 public:
  uint64_t OnCancel(std::function<void()> fn) override {
    std::unique_lock l(mu_);
    if (cancelled_) {
      l.unlock();
      fn();
      return 0;
    }
    fns_[++next_] = std::move(fn);
    return next_;
  }
  void Unregister(uint64_t h) override {
    std::lock_guard l(mu_);  // Fire runs the callbacks under the lock: none is running now
    fns_.erase(h);
  }
  bool Cancelled() const override {
    std::lock_guard l(mu_);
    return cancelled_;
  }
  void Fire() {
    std::lock_guard l(mu_);
    cancelled_ = true;
    for (auto& [h, fn] : fns_) fn();
    fns_.clear();
  }

 private:
  mutable std::mutex mu_;
  bool cancelled_ = false;
  uint64_t next_ = 0;
  std::map<uint64_t, std::function<void()>> fns_;
};

// The busybox test image layout (scripts/make-test-images), built once per process.
class TestImages {
 public:
  static TestImages& Get() {
    static TestImages* images = new TestImages();  // test-only; intentionally leaked
    return *images;
  }
  bool ok() const { return ok_; }
  std::string error() const { return "make-test-images failed (see stderr)"; }
  std::string path(const std::string& name) const { return dir_.path() + "/" + name; }

 private:
  TestImages() {
    std::string cmd = std::string(BERTH_MAKE_TEST_IMAGES) + " " + dir_.path() + " >/dev/null";
    ok_ = std::system(cmd.c_str()) == 0;
  }
  TempDir dir_;
  bool ok_ = false;
};

inline int CountFds() {
  int n = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

// The runtime's attach copy ends asynchronously once our FIFO end is closed: wait for the
// count to settle (up to 3 s) before comparing.
inline int SettledCount(int (*count)(), int want) {
  for (int i = 0; i < 60 && count() != want; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  return count();
}

inline int CountThreads() {
  int n = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator("/proc/self/task")) ++n;
  return n;
}

class ContainerStreamsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    BERTH_REQUIRE_ROOT();
    ASSERT_TRUE(TestImages::Get().ok()) << TestImages::Get().error();
    net_ = std::make_unique<TestPodNetwork>(tmp_.path(), "berth-cst", "bcst", 196);
    ASSERT_TRUE(net_->Setup());
    ASSERT_TRUE(net_->WriteConflist({net_->BridgePlugin()}, "10-cst.conflist"));
    root_ = tmp_ / "root";
    state_ = tmp_ / "state";
    ASSERT_TRUE(MakeDirs(root_, 0700).ok() && MakeDirs(state_, 0700).ok());
    StartBerthd();
    if (HasFatalFailure()) return;
    pod_ = RunPod("pod-a", /*host_network=*/false);
    ASSERT_FALSE(pod_.empty());
  }

  void TearDown() override {
    if (pods_) {
      for (const std::string& p : pod_ids_) {
        Status s = pods_->Remove(p);
        EXPECT_TRUE(s.ok()) << s.ToString();
      }
    }
    StopBerthd();
    net_.reset();
  }

  // berthd's pieces, in Daemon's order (cri/daemon.cc), over the same root and state.
  void StartBerthd() {
    Logger logger(LogLevel::kWarn);
    // A short runtime state dir: shim sockets live in <dir>/tasks/<64 hex>/ (sun_path: 108).
    nlohmann::json plugins = {
        {"io.berth.runtime.v1/native", {{"state_dir", shim_dir_.path()}}},
        {"cni", {{"conf_dir", net_->conf_dir()}, {"bin_dirs", {"/usr/lib/cni"}}}}};
    host_ = std::make_unique<PluginHost>(logger, plugins, root_, state_);
    host_->LoadAll({BERTH_PLUGIN_BUILD_DIR});
    image::ImageManagerOptions io;
    io.root = root_;
    io.state = state_;
    io.snapshotter = "overlay";
    auto images = image::ImageManager::Open(std::move(io), *host_, logger);
    ASSERT_TRUE(images.ok()) << images.status().ToString();
    images_ = std::move(*images);
    if (!imported_) {
      auto imported =
          images_->Import(TestImages::Get().path("busybox"), "docker.io/library/busybox:test");
      ASSERT_TRUE(imported.ok()) << imported.status().ToString();
      imported_ = true;
    }
    auto handlers = RuntimeHandlers::FromConfig(DaemonConfig{});
    ASSERT_TRUE(handlers.ok());
    handlers_ = std::make_unique<RuntimeHandlers>(std::move(*handlers));
    PodManagerOptions po;
    po.root = root_;
    po.state = state_;
    po.network_plugin = "cni";
    auto pods = PodManager::Open(std::move(po), *host_, *handlers_, nullptr, logger);
    ASSERT_TRUE(pods.ok()) << pods.status().ToString();
    pods_ = std::move(*pods);
    PodManager* pm = pods_.get();
    auto lookup = [pm](const std::string& id) { return pm->Get(id); };
    container::ContainerManagerOptions co;
    co.root = root_;
    co.state = state_;
    auto containers = ContainerManager::Open(
        std::move(co), *host_, *images_, lookup,
        [pm](const plugin::v1::TaskExitEvent& ev) { pm->OnTaskExit(ev); }, logger);
    ASSERT_TRUE(containers.ok()) << containers.status().ToString();
    containers_ = std::move(*containers);
    host_->SetEventSink(containers_->EventSink());
    containers_->Recover();
    pods_->SetContainers(containers_.get());
    streams_ = std::make_unique<ContainerStreams>(*containers_, lookup, logger);
  }

  // berthd going away (the shims and containers stay), in Daemon's order.
  void StopBerthd() {
    streams_.reset();
    if (pods_) pods_->SetContainers(nullptr);
    if (host_) host_->SetEventSink(nullptr);
    containers_.reset();
    pods_.reset();
    images_.reset();
    host_.reset();
  }

  std::string RunPod(const std::string& name, bool host_network) {
    runtime::v1::PodSandboxConfig c;
    c.mutable_metadata()->set_name(name);
    c.mutable_metadata()->set_namespace_("streams");
    c.mutable_metadata()->set_uid("uid-" + name + "-" + std::to_string(getpid()));
    c.set_hostname(name);
    c.set_log_directory(tmp_ / ("logs/" + name));
    auto* ns = c.mutable_linux()->mutable_security_context()->mutable_namespace_options();
    ns->set_network(host_network ? runtime::v1::NODE : runtime::v1::POD);
    ns->set_pid(runtime::v1::CONTAINER);
    Result<std::string> id = pods_->Run(c, "");
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    if (!id.ok()) return "";
    pod_ids_.push_back(*id);
    return *id;
  }

  runtime::v1::ContainerConfig Config(const std::string& name, std::vector<std::string> cmd) {
    runtime::v1::ContainerConfig c;
    c.mutable_metadata()->set_name(name);
    c.mutable_image()->set_image("docker.io/library/busybox:test");
    for (auto& a : cmd) c.add_command(a);
    c.set_log_path(name + ".log");
    return c;
  }

  std::string RunContainer(const std::string& pod, const runtime::v1::ContainerConfig& c) {
    Result<std::string> id = containers_->Create(pod, c);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    if (!id.ok()) return "";
    Status s = containers_->Start(*id);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return s.ok() ? *id : "";
  }

  runtime::v1::ContainerState ContainerState(const std::string& id) {
    auto st = containers_->GetStatus(id, false);
    return st.ok() ? st->status().state() : runtime::v1::CONTAINER_UNKNOWN;
  }

  runtime::v1::ContainerState WaitExited(const std::string& id) {
    for (int i = 0; i < 200 && ContainerState(id) != runtime::v1::CONTAINER_EXITED; ++i)
      std::this_thread::sleep_for(50ms);
    return ContainerState(id);
  }

  int InitPid(const std::string& id) {
    auto st = containers_->GetStatus(id, true);
    if (!st.ok() || !st->info().count("info")) return 0;
    auto j = nlohmann::json::parse(st->info().at("info"), nullptr, false);
    return j.is_object() ? j.value("pid", 0) : 0;
  }

  std::string LogText(const std::string& name) {
    Result<std::string> t = ReadFile(tmp_ / ("logs/pod-a/" + name + ".log"));
    return t.ok() ? *t : "";
  }

  // No process of `init`'s pid namespace runs a command holding one of `marks`, and none is a
  // zombie, within a few seconds.
  static bool WaitNoProcess(int init, const std::vector<std::string>& marks) {
    std::string ns = Link("/proc/" + std::to_string(init) + "/ns/pid");
    for (int i = 0; i < 60; ++i) {
      bool found = false;
      for (auto& e : std::filesystem::directory_iterator("/proc")) {
        std::string pid = e.path().filename();
        if (pid.empty() || !isdigit(static_cast<unsigned char>(pid[0]))) continue;
        if (Link("/proc/" + pid + "/ns/pid") != ns) continue;
        Result<std::string> cmd = ReadFile("/proc/" + pid + "/cmdline");
        Result<std::string> stat = ReadFile("/proc/" + pid + "/stat");
        if (!cmd.ok() || !stat.ok()) continue;
        size_t rp = stat->rfind(')');
        if (rp != std::string::npos && stat->substr(rp + 2, 1) == "Z") found = true;
        for (const std::string& m : marks) found |= cmd->find(m) != std::string::npos;
      }
      if (!found) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }
  static std::string Link(const std::string& p) {
    char buf[256];
    ssize_t n = readlink(p.c_str(), buf, sizeof(buf));
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  }

  // No FIFO or session directory left in the container's bundle.
  void ExpectNoStreamsLeft(const std::string& id) {
    std::string dir = state_ + "/containers/" + id + "/streams";
    std::error_code ec;
    if (!std::filesystem::exists(dir, ec)) return;
    for (auto& e : std::filesystem::directory_iterator(dir))
      ADD_FAILURE() << "left behind: " << e.path();
  }

  TempDir tmp_, shim_dir_;
  std::string root_, state_, pod_;
  std::vector<std::string> pod_ids_;
  bool imported_ = false;
  std::unique_ptr<TestPodNetwork> net_;
  std::unique_ptr<PluginHost> host_;
  std::unique_ptr<image::ImageManager> images_;
  std::unique_ptr<RuntimeHandlers> handlers_;
  std::unique_ptr<PodManager> pods_;
  std::unique_ptr<ContainerManager> containers_;
  std::unique_ptr<ContainerStreams> streams_;
};

}  // namespace berth::testing
