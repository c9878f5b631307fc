// berthctl's streaming client against a reference server: containerd 1.6's CRI streaming server
// is kubelet's own streaming library (k8s.io/kubelet/cri/streaming over Go's spdystream), the
// server that crictl and kubectl talk to. berthctl must get the same answers from it as from
// berthd: stdout/stderr apart, the exit code from the v4 status (which that server sends and
// then resets the error stream), stdin through, a terminal of the right size, port-forward.
//
// Root; needs Debian's containerd (scripts/install-deps installs it; under CI=true its absence
// fails the test). The pod uses the host network, so no CNI runs; containerd keeps its root,
// state and socket in a temp directory and is stopped at the end.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/fs.h"
#include "tests/integration/streaming_e2e_support.h"
#include "tests/support/containerd_process.h"
#include "tests/support/test_env.h"

namespace berth::testing {
namespace {

using namespace std::chrono_literals;

std::string Sh(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

int FreeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// GET / over HTTP/1.0 from 127.0.0.1:port; the whole response ("" when it cannot connect).
std::string HttpGet(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  std::string out;
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    const char req[] = "GET / HTTP/1.0\r\n\r\n";
    if (::write(fd, req, sizeof req - 1) == static_cast<ssize_t>(sizeof req - 1)) {
      char buf[4096];
      for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out.append(buf, n);
    }
  }
  ::close(fd);
  return out;
}

class ContainerdInteropTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!WhyNotRoot().empty() || !ContainerdInstalled()) return;
    env_ = new Env();
    env_->ctd =
        std::make_unique<ContainerdProcess>(env_->tmp.path() + "/ctd", env_->tmp.path() + "/net.d");
    std::string images = env_->tmp.path() + "/images";
    ASSERT_EQ(
        std::system((std::string(BERTH_MAKE_TEST_IMAGES) + " " + images + " >/dev/null").c_str()),
        0);
    ASSERT_TRUE(MakeDirs(env_->tmp.path() + "/net.d", 0755).ok());
    ASSERT_TRUE(env_->ctd->Start()) << env_->ctd->Log();
    ASSERT_TRUE(env_->ctd->Import(images + "/busybox", "docker.io/library/bench_busybox"));
    ASSERT_TRUE(env_->ctd->Import(images + "/pause", "docker.io/library/bench_pause"));
    std::string pod_json = env_->tmp.path() + "/pod.json";
    std::string ctr_json = env_->tmp.path() + "/ctr.json";
    std::ofstream(pod_json) << R"({"metadata":{"name":"interop","namespace":"t","uid":"i1"},)"
                            << R"("log_directory":")" << env_->tmp.path() << R"(/logs",)"
                            << R"("linux":{"security_context":{"namespace_options":)"
                            << R"({"network":2}}}})";
    std::ofstream(ctr_json) << R"({"metadata":{"name":"main"},)"
                            << R"("image":{"image":"docker.io/library/bench_busybox:latest"},)"
                            << R"("command":["sleep","100000"],"log_path":"main.log"})";
    env_->pod = Sh(Ctl() + " runp " + pod_json);
    ASSERT_EQ(env_->pod.size(), 64u) << env_->pod << env_->ctd->Log();
    env_->ctr = Sh(Ctl() + " create " + env_->pod + " " + ctr_json + " " + pod_json);
    ASSERT_EQ(env_->ctr.size(), 64u) << env_->ctr;
    ASSERT_EQ(Sh(Ctl() + " start " + env_->ctr), env_->ctr);
  }
  static void TearDownTestSuite() {
    if (env_ == nullptr) return;
    if (!env_->pod.empty()) Sh(Ctl() + " rmp -f " + env_->pod + " 2>&1");
    env_->ctd->Stop();
    delete env_;
    env_ = nullptr;
  }
  void SetUp() override {
    BERTH_REQUIRE_ROOT();
    if (!ContainerdInstalled()) {
      if (InCi()) FAIL() << "containerd is not installed (scripts/install-deps installs it)";
      GTEST_SKIP() << "containerd is not installed";
    }
    ASSERT_NE(env_, nullptr);
    ASSERT_EQ(env_->ctr.size(), 64u) << "suite setup failed";
  }

  static std::string Ctl() {
    return std::string(BERTHCTL_PATH) + " -r unix://" + env_->tmp.path() + "/ctd/ctd.sock";
  }
  static std::vector<std::string> CtlArgv(std::vector<std::string> rest) {
    std::vector<std::string> argv = {BERTHCTL_PATH, "-r",
                                     "unix://" + env_->tmp.path() + "/ctd/ctd.sock"};
    argv.insert(argv.end(), rest.begin(), rest.end());
    return argv;
  }
  static bool InCi() {
    const char* ci = std::getenv("CI");
    return ci != nullptr && std::string(ci) == "true";
  }

  struct Env {
    TempDir tmp;
    std::unique_ptr<ContainerdProcess> ctd;
    std::string pod, ctr;
  };
  static Env* env_;
};
ContainerdInteropTest::Env* ContainerdInteropTest::env_ = nullptr;

// The exit code travels in the v4 status on the error stream, which this server resets right
// after writing it: every run must still see it (it was lost about half the time before).
TEST_F(ContainerdInteropTest, ExecOutputsAndExitCodeOverSpdy) {
  for (int i = 0; i < 10; ++i) {
    Child c(CtlArgv({"exec", env_->ctr, "sh", "-c", "echo out; echo err >&2; exit 3"}),
            Child::Stdin::kNull);
    ASSERT_EQ(c.Wait(20s), 3) << "run " << i << ": " << c.err();
    EXPECT_EQ(c.out(), "out\n");
    EXPECT_EQ(c.err(), "err\n");
  }
}

// containerd 1.6 speaks v4.channel.k8s.io over WebSocket (no v5: stdin cannot be closed, so
// no stdin here).
TEST_F(ContainerdInteropTest, ExecOverWebSocket) {
  Child c(CtlArgv({"exec", "--transport", "websocket", env_->ctr, "sh", "-c",
                   "echo out; echo err >&2; exit 5"}),
          Child::Stdin::kNull);
  ASSERT_EQ(c.Wait(20s), 5) << c.err();
  EXPECT_EQ(c.out(), "out\n");
  EXPECT_EQ(c.err(), "err\n");
}

TEST_F(ContainerdInteropTest, StdinReachesTheProcessOverSpdy) {
  std::string data(1 << 20, '\0');
  std::mt19937 rng(7);
  for (char& ch : data) ch = static_cast<char>(rng());
  Child c(CtlArgv({"exec", "-i", env_->ctr, "sh", "-c", "cat"}), Child::Stdin::kPipe);
  c.Write(data);
  c.CloseStdin();
  ASSERT_EQ(c.Wait(30s), 0) << c.err();
  EXPECT_EQ(c.out().size(), data.size());
  EXPECT_TRUE(c.out() == data);
}

TEST_F(ContainerdInteropTest, TerminalSizeAndExitCodeOverSpdy) {
  // This server starts the process before it applies the first resize (kubectl sees the same):
  // give that a moment before asking the size.
  Child c(CtlArgv({"exec", "-it", env_->ctr, "sh", "-c", "sleep 1; stty size; exit 7"}),
          Child::Stdin::kPty, nullptr, 33, 101);
  ASSERT_EQ(c.Wait(20s), 7) << c.out();
  EXPECT_NE(c.out().find("33 101"), std::string::npos) << c.out();
}

TEST_F(ContainerdInteropTest, PortForwardOverSpdy) {
  int port = FreeLoopbackPort();  // host network: the pod's loopback is the host's
  Child srv(CtlArgv({"exec", env_->ctr, "sh", "-c",
                     "mkdir -p /www && echo page > /www/index.html && exec httpd -f -p 127.0.0.1:" +
                         std::to_string(port) + " -h /www"}),
            Child::Stdin::kNull);
  // The pod shares the host's network: wait until httpd listens before forwarding to it.
  for (int t = 0; t < 100 && HttpGet(port).find("page") == std::string::npos; ++t)
    std::this_thread::sleep_for(100ms);
  Child pf(CtlArgv({"port-forward", env_->pod, "0:" + std::to_string(port)}), Child::Stdin::kNull);
  ASSERT_TRUE(pf.WaitOut("Forwarding from 127.0.0.1:", 20s)) << pf.err();
  std::string out = pf.out();
  size_t at = out.find("127.0.0.1:") + 10;
  int local = std::atoi(out.c_str() + at);
  ASSERT_GT(local, 0) << out;
  for (int i = 0; i < 3; ++i) {
    std::string page;
    for (int t = 0; t < 50 && page.find("page") == std::string::npos; ++t) {
      page = HttpGet(local);
      if (page.find("page") == std::string::npos) std::this_thread::sleep_for(100ms);
    }
    EXPECT_NE(page.find("\npage"), std::string::npos) << page;
  }
  pf.Signal(SIGINT);
  EXPECT_EQ(pf.Wait(10s), 0) << pf.err();
  // httpd goes with the pod at the end of the suite.
}

}  // namespace
}  // namespace berth::testing
