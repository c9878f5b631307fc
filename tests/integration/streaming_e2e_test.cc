// Streaming end to end (root): a real berthd (overlay, native runtime, `cni` with a test-owned
// bridge) running a real pod with busybox containers; the real berthctl binary (and the
// cli/streaming client library directly, for the token cases) over BOTH transports, SPDY/3.1 and
// WebSocket (the test parameter).
//
// Covered: exec without a tty (separate stdout/stderr, exit codes), stdin echo through `cat`
// (stdin EOF reaches the container), exec -it on a pty (raw mode, `stty size` before and after
// a SIGWINCH resize, the terminal restored afterwards), 64 MiB of output without loss (SHA-256),
// concurrent sessions, a client killed mid-stream leaving no process in the container, tokens
// refused when reused or expired (berthd's "streaming": {"token_ttl_s": 2}), attach to a
// stdin+tty container and to a stdin-only one, port-forward to busybox httpd with concurrent
// connections and a closed port reported as an error.
//
// One berthd, network and pod serve the whole binary (set up on first use); every test cleans
// what it created. Host safety as in cri_e2e_test: bridge "bstrm<n>", 10.193.<n>.0/24, no
// masquerade, a FORWARD DROP rule for the bridge, ip_forward restored.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api/cri.h"
#include "cli/streaming/local_io.h"
#include "cli/streaming/remote_command.h"
#include "common/fs.h"
#include "images.grpc.pb.h"
#include "tests/integration/image_service_fixture.h"
#include "tests/integration/streaming_e2e_support.h"
#include "tests/support/berthd_process.h"
#include "tests/support/test_env.h"
#include "tests/support/test_pod_network.h"

namespace berth::testing {
namespace {

namespace cri = ::runtime::v1;
using namespace std::chrono_literals;
constexpr const char* kBusybox = "docker.io/library/busybox:test";
constexpr int kTokenTtlSeconds = 2;

// The berthd, network and pod every test uses.
struct Env {
  TempDir tmp, shim_dir;
  std::unique_ptr<TestPodNetwork> net;
  std::unique_ptr<BerthdProcess> berthd;
  std::unique_ptr<cri::RuntimeService::Stub> rt;
  std::string config;  // crictl.yaml for berthctl (empty)
  std::string pod, main, web;
  cri::PodSandboxConfig pod_config;
  std::string error;  // why setting up failed
};
Env* g_env = nullptr;

grpc::ClientContext* WithDeadline(grpc::ClientContext& ctx, int seconds = 60) {
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  return &ctx;
}

cri::ContainerConfig Config(const std::string& name, const std::vector<std::string>& cmd) {
  cri::ContainerConfig c;
  c.mutable_metadata()->set_name(name);
  c.mutable_image()->set_image(kBusybox);
  for (auto& a : cmd) c.add_command(a);
  c.set_log_path(name + ".log");
  return c;
}

std::string RunIn(Env& env, const cri::ContainerConfig& config, std::string* error) {
  grpc::ClientContext ctx;
  cri::CreateContainerRequest req;
  cri::CreateContainerResponse resp;
  req.set_pod_sandbox_id(env.pod);
  *req.mutable_config() = config;
  *req.mutable_sandbox_config() = env.pod_config;
  grpc::Status s = env.rt->CreateContainer(WithDeadline(ctx), req, &resp);
  if (!s.ok()) {
    *error = "create " + config.metadata().name() + ": " + s.error_message();
    return "";
  }
  grpc::ClientContext ctx2;
  cri::StartContainerRequest sreq;
  cri::StartContainerResponse sresp;
  sreq.set_container_id(resp.container_id());
  s = env.rt->StartContainer(WithDeadline(ctx2), sreq, &sresp);
  if (!s.ok()) {
    *error = "start " + config.metadata().name() + ": " + s.error_message();
    return "";
  }
  return resp.container_id();
}

void SetUpEnv(Env& env) {
  auto fail = [&](const std::string& why) { env.error = why; };
  if (!TestImages::Get().ok()) return fail(TestImages::Get().error());
  env.net = std::make_unique<TestPodNetwork>(env.tmp.path(), "berth-stream", "bstrm", 193);
  if (!env.net->Setup()) return fail("network setup");
  if (!env.net->WriteConflist({env.net->BridgePlugin()}, "10-stream.conflist")) {
    return fail("conflist");
  }
  nlohmann::json cfg = {
      {"snapshotter", "overlay"},
      {"sandbox_image", kTestPauseImage},
      {"streaming", {{"token_ttl_s", kTokenTtlSeconds}}},
      {"plugins",
       {{"io.berth.runtime.v1/native", {{"state_dir", env.shim_dir.path()}}},
        {"cni", {{"conf_dir", env.net->conf_dir()}, {"bin_dirs", {"/usr/lib/cni"}}}}}}};
  if (!AtomicWriteFile(env.tmp / "berthd.json", cfg.dump(2)).ok()) return fail("config");
  env.config = env.tmp / "crictl.yaml";
  std::ofstream(env.config) << "";
  env.berthd = std::make_unique<BerthdProcess>(
      std::vector<std::string>{"--config", env.tmp / "berthd.json"}, BERTH_PLUGIN_BUILD_DIR);
  if (!env.berthd->Start(20000)) return fail("berthd did not start:\n" + env.berthd->Stderr());
  auto ch = grpc::CreateChannel(env.berthd->endpoint(), grpc::InsecureChannelCredentials());
  env.rt = cri::RuntimeService::NewStub(ch);
  auto images = berth::v1::Images::NewStub(ch);
  for (const auto& [layout, name] :
       {std::pair<std::string, std::string>{"busybox", kBusybox}, {"pause", kTestPauseImage}}) {
    grpc::ClientContext ctx;
    berth::v1::ImportImageRequest req;
    berth::v1::ImportImageResponse resp;
    req.set_path(TestImages::Get().path(layout));
    req.set_name(name);
    grpc::Status s = images->Import(WithDeadline(ctx), req, &resp);
    if (!s.ok()) return fail("import " + layout + ": " + s.error_message());
  }
  cri::PodSandboxConfig& c = env.pod_config;
  c.mutable_metadata()->set_name("stream");
  c.mutable_metadata()->set_namespace_("stream-e2e");
  c.mutable_metadata()->set_uid("uid-stream-" + std::to_string(getpid()));
  c.set_hostname("stream");
  c.set_log_directory(env.tmp / "logs/stream");
  {
    grpc::ClientContext ctx;
    cri::RunPodSandboxRequest req;
    cri::RunPodSandboxResponse resp;
    *req.mutable_config() = c;
    grpc::Status s = env.rt->RunPodSandbox(WithDeadline(ctx), req, &resp);
    if (!s.ok()) return fail("run pod: " + s.error_message());
    env.pod = resp.pod_sandbox_id();
  }
  std::string error;
  env.main = RunIn(env, Config("main", {"sleep", "100000"}), &error);
  if (env.main.empty()) return fail(error);
  env.web = RunIn(env,
                  Config("web", {"sh", "-c",
                                 "mkdir -p /www && echo 'hello through port-forward' > "
                                 "/www/index.html && exec httpd -f -p 8080 -h /www"}),
                  &error);
  if (env.web.empty()) return fail(error);
}

void TearDownEnv(Env& env) {
  if (env.berthd && env.rt && !env.pod.empty()) {
    grpc::ClientContext ctx;
    cri::RemovePodSandboxRequest req;
    cri::RemovePodSandboxResponse resp;
    req.set_pod_sandbox_id(env.pod);
    grpc::Status s = env.rt->RemovePodSandbox(WithDeadline(ctx), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
  }
  env.rt.reset();
  if (env.berthd) env.berthd->Stop(SIGTERM);
}

std::string Sha256Hex(EVP_MD_CTX* md) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(md, digest, &len);
  std::string hex;
  char b[3];
  for (unsigned int i = 0; i < len; ++i) {
    (void)std::snprintf(b, sizeof b, "%02x", digest[i]);
    hex += b;
  }
  return hex;
}

// One HTTP/1.0 GET through 127.0.0.1:port; the whole response ("" when nothing came).
std::string HttpGet(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a {};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  struct timeval tv = {20, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string resp;
  if (::connect(fd, reinterpret_cast<struct sockaddr*>(&a), sizeof a) == 0) {
    std::string req = "GET /index.html HTTP/1.0\r\nHost: pod\r\n\r\n";
    (void)!::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) resp.append(buf, n);
  }
  ::close(fd);
  return resp;
}

class StreamingE2eTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void TearDownTestSuite() {
    if (g_env != nullptr) {
      TearDownEnv(*g_env);
      delete g_env;
      g_env = nullptr;
    }
  }

  void SetUp() override {
    BERTH_REQUIRE_ROOT();
    if (g_env == nullptr) {
      g_env = new Env();
      SetUpEnv(*g_env);
    }
    ASSERT_EQ(g_env->error, "") << (g_env->berthd ? g_env->berthd->Stderr() : "");
    env_ = g_env;
  }

  void TearDown() override {
    if (HasFailure() && env_ != nullptr) {
      std::cerr << "berthd stderr (tail):\n" << Tail(env_->berthd->Stderr(), 6000) << "\n";
    }
  }

  static std::string Tail(const std::string& s, size_t n) {
    return s.size() > n ? s.substr(s.size() - n) : s;
  }

  const std::string& transport() const { return GetParam(); }

  // berthctl's argv for `verb` with --transport set, then `args`.
  std::vector<std::string> Argv(const std::string& verb, std::vector<std::string> args) const {
    std::vector<std::string> argv = {
        BERTHCTL_PATH, "-c",  env_->config, "-r",          env_->berthd->endpoint(),
        "-t",          "30s", verb,         "--transport", transport()};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  struct Ran {
    int code;
    std::string out, err;
  };
  Ran Run(const std::string& verb, std::vector<std::string> args, const std::string& input = "",
          bool with_stdin = false, std::chrono::milliseconds timeout = 60s) {
    Child c(Argv(verb, std::move(args)), with_stdin ? Child::Stdin::kPipe : Child::Stdin::kNull);
    if (with_stdin) {
      c.Write(input);
      c.CloseStdin();
    }
    int code = c.Wait(timeout);
    return {code, c.out(), c.err()};
  }

  // ExecSync in `id`; stdout (exit code in *code).
  std::string ExecSync(const std::string& id, const std::vector<std::string>& cmd,
                       int* code = nullptr) {
    grpc::ClientContext ctx;
    cri::ExecSyncRequest req;
    cri::ExecSyncResponse resp;
    req.set_container_id(id);
    for (auto& a : cmd) req.add_cmd(a);
    req.set_timeout(60);
    grpc::Status s = env_->rt->ExecSync(WithDeadline(ctx, 90), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    if (code != nullptr) *code = resp.exit_code();
    return resp.stdout();
  }

  // True once `ps` in the main container shows no line containing `marker` (within 15 s).
  bool GoneFromPs(const std::string& marker) {
    for (int i = 0; i < 150; ++i) {
      if (ExecSync(env_->main, {"ps", "-o", "pid,args"}).find(marker) == std::string::npos) {
        return true;
      }
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }

  std::string ExecUrl(const std::vector<std::string>& cmd, bool stdin = false) {
    grpc::ClientContext ctx;
    cri::ExecRequest req;
    cri::ExecResponse resp;
    req.set_container_id(env_->main);
    for (auto& a : cmd) req.add_cmd(a);
    req.set_stdin(stdin);
    req.set_stdout(true);
    req.set_stderr(true);
    grpc::Status s = env_->rt->Exec(WithDeadline(ctx), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.url();
  }

  // The cli/streaming client library directly: exit code or error, output in *out.
  Result<int> StreamUrl(const std::string& url, std::string* out) {
    std::ostringstream o, e;
    std::istringstream none;
    cli::streaming::StreamOutput so(o), se(e);
    cli::streaming::StreamInput si(none);
    cli::streaming::RemoteCommandOptions opts;
    opts.transport = transport() == "websocket" ? cli::streaming::Transport::kWebSocket
                                                : cli::streaming::Transport::kSpdy;
    opts.dial.timeout = 10s;
    cli::streaming::LocalStreams local{&si, &so, &se, nullptr};
    Result<int> r = cli::streaming::StreamRemoteCommand(url, opts, local);
    *out = o.str() + e.str();
    return r;
  }

  Env* env_ = nullptr;
};

TEST_P(StreamingE2eTest, ExecSeparatesStdoutAndStderrAndPassesTheExitCode) {
  Ran r = Run("exec", {env_->main, "sh", "-c", "echo to-out; echo to-err >&2; exit 3"});
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_EQ(r.out, "to-out\n");
  EXPECT_EQ(r.err, "to-err\n");
  r = Run("exec", {env_->main, "true"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  // A command that cannot be run: an error, and a non-zero exit.
  r = Run("exec", {env_->main, "/no/such/binary"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err, "");
}

TEST_P(StreamingE2eTest, ExecStdinReachesCatAndEofEndsIt) {
  std::string input;
  for (int i = 0; i < 2000; ++i) input += "line " + std::to_string(i) + "\n";
  Ran r = Run("exec", {"-i", env_->main, "cat"}, input, /*with_stdin=*/true, 30s);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, input);
  // Without -i the command sees no stdin at all (EOF at once).
  r = Run("exec", {env_->main, "sh", "-c", "cat; echo after"}, "ignored", true, 30s);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "after\n");
}

TEST_P(StreamingE2eTest, ExecTtyOnAPtyResizesAndRestoresTheTerminal) {
  Child c(Argv("exec", {"-it", env_->main, "sh"}), Child::Stdin::kPty, nullptr, 31, 91);
  struct termios before {};
  ASSERT_EQ(::tcgetattr(c.master(), &before), 0);
  // The initial size travels with the session; the remote tty echoes and answers.
  bool seen = false;
  for (int i = 0; i < 40 && !seen; ++i) {
    c.Write("stty size\r");
    seen = c.WaitOut("31 91", 500ms);
  }
  ASSERT_TRUE(seen) << c.out() << c.err();
  // Raw mode locally: the pty no longer echoes or edits lines on our side.
  struct termios raw {};
  ASSERT_EQ(::tcgetattr(c.master(), &raw), 0);
  EXPECT_EQ(raw.c_lflag & (ICANON | ECHO), 0u);
  c.Resize(42, 123);  // SIGWINCH to berthctl → resize event → the container's tty
  seen = false;
  for (int i = 0; i < 40 && !seen; ++i) {
    c.Write("stty size\r");
    seen = c.WaitOut("42 123", 500ms);
  }
  EXPECT_TRUE(seen) << c.out();
  c.Write("exit 7\r");
  EXPECT_EQ(c.Wait(20s), 7) << c.out();
  struct termios after {};
  ASSERT_EQ(::tcgetattr(c.master(), &after), 0);
  EXPECT_EQ(after.c_lflag & (ICANON | ECHO), before.c_lflag & (ICANON | ECHO))
      << "terminal mode not restored";
}

TEST_P(StreamingE2eTest, LargeOutputArrivesWhole) {
  constexpr size_t kSize = 64UL * 1024 * 1024;
  int code = -1;
  std::string sum = ExecSync(env_->main,
                             {"sh", "-c",
                              "head -c " + std::to_string(kSize) +
                                  " /dev/urandom > /tmp/big && sha256sum "
                                  "/tmp/big"},
                             &code);
  ASSERT_EQ(code, 0);
  std::string expected = sum.substr(0, 64);
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  EVP_DigestInit_ex(md, EVP_sha256(), nullptr);
  std::atomic<size_t> bytes{0};
  auto start = std::chrono::steady_clock::now();
  int rc;
  {
    Child c(Argv("exec", {env_->main, "cat", "/tmp/big"}), Child::Stdin::kNull,
            [&](const char* p, size_t n) {
              EVP_DigestUpdate(md, p, n);
              bytes += n;
            });
    rc = c.Wait(180s);
    EXPECT_EQ(c.err(), "");
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(bytes.load(), kSize);
  EXPECT_EQ(Sha256Hex(md), expected);
  EVP_MD_CTX_free(md);
  std::cerr << transport() << ": 64 MiB in " << secs << " s (" << 64 / secs << " MiB/s)\n";
  ExecSync(env_->main, {"rm", "-f", "/tmp/big"});
}

TEST_P(StreamingE2eTest, ConcurrentSessions) {
  constexpr int kSessions = 8;
  std::vector<std::unique_ptr<Child>> children;
  for (int i = 0; i < kSessions; ++i) {
    std::string n = std::to_string(i);
    if (i % 2 == 0) {
      children.push_back(std::make_unique<Child>(
          Argv("exec", {env_->main, "sh", "-c",
                        "for j in 1 2 3; do echo s" + n + "-$j; sleep 0.2; done; exit " +
                            std::to_string(10 + i)}),
          Child::Stdin::kNull));
    } else {
      children.push_back(
          std::make_unique<Child>(Argv("exec", {"-i", env_->main, "cat"}), Child::Stdin::kPipe));
      children.back()->Write("payload-" + n + "\n");
    }
  }
  for (int i = 1; i < kSessions; i += 2) children[i]->CloseStdin();
  for (int i = 0; i < kSessions; ++i) {
    std::string n = std::to_string(i);
    int code = children[i]->Wait(60s);
    if (i % 2 == 0) {
      EXPECT_EQ(code, 10 + i) << children[i]->err();
      EXPECT_EQ(children[i]->out(), "s" + n + "-1\ns" + n + "-2\ns" + n + "-3\n");
    } else {
      EXPECT_EQ(code, 0) << children[i]->err();
      EXPECT_EQ(children[i]->out(), "payload-" + n + "\n");
    }
  }
}

TEST_P(StreamingE2eTest, ClientKilledMidStreamLeavesNoProcess) {
  std::string marker = transport() == "spdy" ? "4241" : "4242";
  Child c(Argv("exec", {env_->main, "sh", "-c", "echo started; exec sleep " + marker}),
          Child::Stdin::kNull);
  ASSERT_TRUE(c.WaitOut("started", 20s)) << c.err();
  EXPECT_NE(ExecSync(env_->main, {"ps", "-o", "pid,args"}).find("sleep " + marker),
            std::string::npos);
  c.Signal(SIGKILL);
  EXPECT_EQ(c.Wait(10s), 128 + SIGKILL);
  EXPECT_TRUE(GoneFromPs("sleep " + marker)) << "the exec'd process outlived its client";

  // The same with a tty and stdin (the shell would otherwise wait for input forever).
  Child t(Argv("exec", {"-it", env_->main, "sh"}), Child::Stdin::kPty);
  bool up = false;
  for (int i = 0; i < 40 && !up; ++i) {
    t.Write("echo up-$((40+2))\r");
    up = t.WaitOut("up-42", 500ms);
  }
  ASSERT_TRUE(up) << t.out();
  t.Write("exec sleep 1" + marker + "\r");
  std::this_thread::sleep_for(500ms);
  t.Signal(SIGKILL);
  t.Wait(10s);
  EXPECT_TRUE(GoneFromPs("sleep 1" + marker)) << "the tty exec outlived its client";
}

TEST_P(StreamingE2eTest, TokensAreSingleUseAndExpire) {
  std::string url = ExecUrl({"echo", "once"});
  ASSERT_FALSE(url.empty());
  std::string out;
  Result<int> first = StreamUrl(url, &out);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(*first, 0);
  EXPECT_EQ(out, "once\n");
  Result<int> again = StreamUrl(url, &out);
  EXPECT_FALSE(again.ok()) << "a used token was accepted again";

  std::string late = ExecUrl({"echo", "late"});
  std::this_thread::sleep_for(std::chrono::seconds(kTokenTtlSeconds) + 1500ms);
  Result<int> expired = StreamUrl(late, &out);
  EXPECT_FALSE(expired.ok()) << "an expired token was accepted";
  EXPECT_EQ(out.find("late"), std::string::npos);

  // A made-up token on the same server.
  std::string forged = url.substr(0, url.rfind('/') + 1) + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
  Result<int> bad = StreamUrl(forged, &out);
  EXPECT_FALSE(bad.ok());
}

TEST_P(StreamingE2eTest, AttachToAStdinTtyContainer) {
  cri::ContainerConfig cfg = Config("attach-tty-" + transport(), {"sh"});
  cfg.set_stdin(true);
  cfg.set_tty(true);
  std::string error;
  std::string id = RunIn(*env_, cfg, &error);
  ASSERT_FALSE(id.empty()) << error;
  Child c(Argv("attach", {"-i", "-t", id}), Child::Stdin::kPty, nullptr, 33, 99);
  bool seen = false;
  for (int i = 0; i < 40 && !seen; ++i) {
    c.Write("echo attached-$((6*7)) $(stty size)\r");
    seen = c.WaitOut("attached-42 33 99", 500ms);
  }
  EXPECT_TRUE(seen) << c.out() << c.err();
  c.Write("exit 5\r");  // the container's shell ends: so does the attach
  int code = c.Wait(30s);
  EXPECT_GE(code, 0) << "attach did not end with the container";
  std::cerr << "attach exit code after the container exited with 5: " << code << "\n";
  grpc::ClientContext ctx;
  cri::RemoveContainerRequest req;
  cri::RemoveContainerResponse resp;
  req.set_container_id(id);
  EXPECT_TRUE(env_->rt->RemoveContainer(WithDeadline(ctx), req, &resp).ok());
}

TEST_P(StreamingE2eTest, AttachWithStdinOnceAndNoTty) {
  cri::ContainerConfig cfg =
      Config("attach-in-" + transport(),
             {"sh", "-c", "while read l; do echo got-$l; done; echo stdin-closed"});
  cfg.set_stdin(true);
  cfg.set_stdin_once(true);
  std::string error;
  std::string id = RunIn(*env_, cfg, &error);
  ASSERT_FALSE(id.empty()) << error;
  Child c(Argv("attach", {"-i", id}), Child::Stdin::kPipe);
  c.Write("a\nb\n");
  EXPECT_TRUE(c.WaitOut("got-b\n", 20s)) << c.out() << c.err();
  c.CloseStdin();
  // stdin EOF reaches the container (SPDY: FIN; WebSocket v5: the close signal).
  EXPECT_TRUE(c.WaitOut("stdin-closed\n", 20s)) << c.out() << c.err();
  EXPECT_GE(c.Wait(30s), 0);
  EXPECT_EQ(c.out(), "got-a\ngot-b\nstdin-closed\n");
  grpc::ClientContext ctx;
  cri::RemoveContainerRequest req;
  cri::RemoveContainerResponse resp;
  req.set_container_id(id);
  EXPECT_TRUE(env_->rt->RemoveContainer(WithDeadline(ctx), req, &resp).ok());
}

TEST_P(StreamingE2eTest, PortForwardToHttpdWithConcurrentConnectionsAndAClosedPort) {
  Child c(Argv("port-forward", {env_->pod, "0:8080", ":8081"}), Child::Stdin::kNull);
  ASSERT_TRUE(c.WaitOut("-> 8081\n", 20s)) << c.out() << c.err();
  std::smatch m;
  std::string out = c.out();
  std::regex re("Forwarding from 127\\.0\\.0\\.1:([0-9]+) -> 8080\n");
  ASSERT_TRUE(std::regex_search(out, m, re)) << out;
  int web = std::stoi(m[1]);
  std::regex re2("Forwarding from 127\\.0\\.0\\.1:([0-9]+) -> 8081\n");
  ASSERT_TRUE(std::regex_search(out, m, re2)) << out;
  int closed = std::stoi(m[1]);

  // httpd may still be starting.
  std::string page;
  for (int i = 0; i < 50 && page.find("hello through port-forward") == std::string::npos; ++i) {
    page = HttpGet(web);
    if (page.empty()) std::this_thread::sleep_for(200ms);
  }
  ASSERT_NE(page.find("hello through port-forward"), std::string::npos) << page << c.err();

  constexpr int kConns = 12;
  std::vector<std::string> pages(kConns);
  std::vector<std::thread> threads;
  for (int i = 0; i < kConns; ++i) threads.emplace_back([&, i] { pages[i] = HttpGet(web); });
  for (auto& t : threads) t.join();
  for (int i = 0; i < kConns; ++i) {
    EXPECT_NE(pages[i].find("200 OK"), std::string::npos) << i << ": " << pages[i];
    EXPECT_NE(pages[i].find("hello through port-forward"), std::string::npos) << pages[i];
  }

  // Nothing listens on 8081 in the pod: the connection is closed and the error reported.
  EXPECT_EQ(HttpGet(closed), "");
  EXPECT_TRUE(c.WaitErr("-> 8081: ", 20s)) << c.err();
  EXPECT_NE(c.err().find("error: an error occurred forwarding " + std::to_string(closed)),
            std::string::npos)
      << c.err();
  // Forwarding goes on after an error.
  EXPECT_NE(HttpGet(web).find("hello through port-forward"), std::string::npos);

  c.Signal(SIGINT);
  EXPECT_EQ(c.Wait(20s), 0) << c.err();
  EXPECT_NE(c.out().find("Handling connection for " + std::to_string(web)), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Transports, StreamingE2eTest, ::testing::Values("spdy", "websocket"),
                         [](const auto& info) { return info.param; });

// Flag errors need no server round trip to be reported.
TEST(StreamingE2eFlags, BadFlagsFailClearly) {
  BERTH_REQUIRE_ROOT();
  auto run = [](std::vector<std::string> args) {
    std::vector<std::string> argv = {BERTHCTL_PATH, "-r", "unix:///nonexistent/berth.sock"};
    argv.insert(argv.end(), args.begin(), args.end());
    Child c(argv, Child::Stdin::kNull);
    int code = c.Wait(20s);
    return std::make_pair(code, c.err());
  };
  auto [code, err] = run({"exec", "--transport", "carrier-pigeon", "ctr", "true"});
  EXPECT_EQ(code, 1);
  EXPECT_NE(err.find("unknown transport \"carrier-pigeon\""), std::string::npos) << err;
  std::tie(code, err) = run({"exec", "-t", "ctr", "sh"});
  EXPECT_EQ(code, 1);
  EXPECT_NE(err.find("tty=true must be specified with interactive=true"), std::string::npos) << err;
  std::tie(code, err) = run({"exec", "-it", "ctr", "sh"});  // stdin is /dev/null
  EXPECT_EQ(code, 1);
  EXPECT_NE(err.find("input is not a terminal"), std::string::npos) << err;
  std::tie(code, err) = run({"port-forward", "pod", "80:99999"});
  EXPECT_EQ(code, 1);
  EXPECT_NE(err.find("out of range"), std::string::npos) << err;
}

}  // namespace
}  // namespace berth::testing
