// berthctl's streaming client library (cli/streaming) against berthd's real StreamingServer on
// loopback with the in-test backend of the server tests (tests/unit/streaming_test_support.h),
// over SPDY/3.1 and WebSocket, plain and TLS: exit codes, stdout/stderr, stdin EOF, 8 MiB
// without loss, resize events from a real pty and SIGWINCH, single-use tokens, backend
// failures, port-forward with concurrent connections and a closed port. Also the parsers and
// raw mode. No root needed.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "cli/streaming/dial.h"
#include "cli/streaming/local_io.h"
#include "cli/streaming/port_forward.h"
#include "cli/streaming/remote_command.h"
#include "cli/streaming/terminal.h"
#include "cri/streaming/streaming_server.h"
#include "tests/support/test_env.h"
#include "tests/unit/streaming_test_support.h"

namespace berth::cli::streaming {
namespace {

using namespace std::chrono_literals;
using berth::streaming::StreamingOptions;
using berth::streaming::StreamingServer;
using berth::streaming::testing::ClosedPort;
using berth::streaming::testing::EchoServer;
using berth::streaming::testing::PatternByte;
using berth::streaming::testing::TestBackend;

struct Param {
  Transport transport;
  bool tls;
};

std::string Name(const ::testing::TestParamInfo<Param>& info) {
  return std::string(info.param.transport == Transport::kSpdy ? "Spdy" : "WebSocket") +
         (info.param.tls ? "Tls" : "Plain");
}

// A LocalOutput the test may read while the forwarder writes to it.
class Captured : public LocalOutput {
 public:
  bool Write(std::string_view data) override {
    std::lock_guard<std::mutex> lock(mu_);
    text_.append(data);
    return true;
  }
  std::string str() const {
    std::lock_guard<std::mutex> lock(mu_);
    return text_;
  }

 private:
  mutable std::mutex mu_;
  std::string text_;
};

class CliStreamingTest : public ::testing::TestWithParam<Param> {
 protected:
  void SetUp() override {
    StreamingOptions o;
    o.token_ttl = 3s;
    if (GetParam().tls) {
      berth::streaming::testing::WriteSelfSignedCert(dir_.path(), &o.tls_cert_file,
                                                     &o.tls_key_file);
    }
    auto s = StreamingServer::Start(std::move(o), backend_, Logger(LogLevel::kWarn));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
  }

  std::string ExecUrl(const std::vector<std::string>& cmd, bool in, bool tty = false) {
    auto url = server_->GetExec(berth::streaming::testing::ExecReq(cmd, in, true, !tty, tty));
    EXPECT_TRUE(url.ok()) << url.status().ToString();
    return url.ok() ? *url : "";
  }

  struct Out {
    Result<int> code = 0;
    std::string out, err;
  };
  Out Run(const std::string& url, bool in, const std::string& input = "", bool tty = false,
          ResizeWatcher* resize = nullptr) {
    std::istringstream is(input);
    std::ostringstream os, es;
    StreamInput si(is);
    StreamOutput so(os), se(es);
    RemoteCommandOptions opts;
    opts.stdin = in;
    opts.tty = tty;
    opts.stderr = !tty;
    opts.transport = GetParam().transport;
    opts.dial.timeout = 10s;
    LocalStreams local{&si, &so, &se, resize};
    Out o;
    o.code = StreamRemoteCommand(url, opts, local);
    o.out = os.str();
    o.err = es.str();
    return o;
  }

  berth::testing::TempDir dir_;
  TestBackend backend_;
  std::unique_ptr<StreamingServer> server_;
};

TEST_P(CliStreamingTest, ExitCodesAndStreams) {
  Out o = Run(ExecUrl({"exit", "3"}, false), false);
  ASSERT_TRUE(o.code.ok()) << o.code.status().ToString();
  EXPECT_EQ(*o.code, 3);
  o = Run(ExecUrl({"stderr", "oops"}, false), false);
  ASSERT_TRUE(o.code.ok()) << o.code.status().ToString();
  EXPECT_EQ(*o.code, 0);
  EXPECT_EQ(o.err, "oops");
  EXPECT_EQ(o.out, "");
  // A backend failure is an error, not an exit code.
  o = Run(ExecUrl({"fail"}, false), false);
  EXPECT_FALSE(o.code.ok());
}

TEST_P(CliStreamingTest, StdinEofEndsTheCommand) {
  std::string input;
  for (int i = 0; i < 5000; ++i) input += "line " + std::to_string(i) + "\n";
  Out o = Run(ExecUrl({"echo"}, true), true, input);
  ASSERT_TRUE(o.code.ok()) << o.code.status().ToString();
  EXPECT_EQ(*o.code, 0);
  EXPECT_EQ(o.out, input);
}

TEST_P(CliStreamingTest, BigOutputWithoutLoss) {
  constexpr size_t kSize = 8UL * 1024 * 1024;
  Out o = Run(ExecUrl({"bigout", std::to_string(kSize)}, false), false);
  ASSERT_TRUE(o.code.ok()) << o.code.status().ToString();
  ASSERT_EQ(o.out.size(), kSize);
  size_t bad = 0;
  for (size_t i = 0; i < kSize; ++i) bad += o.out[i] != PatternByte(i);
  EXPECT_EQ(bad, 0u);
}

TEST_P(CliStreamingTest, ResizeEventsFromAPty) {
  int master = -1, slave = -1;
  struct winsize ws {};
  ws.ws_row = 24;
  ws.ws_col = 80;
  ASSERT_EQ(::openpty(&master, &slave, nullptr, nullptr, &ws), 0);
  auto watcher = ResizeWatcher::Start(slave);
  ASSERT_TRUE(watcher.ok()) << watcher.status().ToString();
  std::thread resizer([&] {
    std::this_thread::sleep_for(300ms);
    struct winsize w2 {};
    w2.ws_row = 30;
    w2.ws_col = 100;
    ::ioctl(master, TIOCSWINSZ, &w2);
    (void)::raise(SIGWINCH);  // not our controlling terminal: deliver the signal ourselves
  });
  Out o = Run(ExecUrl({"resize", "2"}, true, true), true, "", true, watcher->get());
  resizer.join();
  ASSERT_TRUE(o.code.ok()) << o.code.status().ToString();
  EXPECT_EQ(o.out, "80x24\n100x30\n");
  watcher->reset();
  ::close(master);
  ::close(slave);
}

TEST_P(CliStreamingTest, TokensAreSingleUse) {
  std::string url = ExecUrl({"exit", "0"}, false);
  EXPECT_TRUE(Run(url, false).code.ok());
  Out again = Run(url, false);
  ASSERT_FALSE(again.code.ok());
  std::cerr << "refused: " << again.code.status().message() << "\n";
  EXPECT_NE(again.code.status().message().find("404"), std::string::npos)
      << again.code.status().message();
}

TEST_P(CliStreamingTest, PortForwardEchoesAndReportsAClosedPort) {
  EchoServer echo;
  uint16_t closed = ClosedPort();
  auto url_for = [&](const std::vector<uint16_t>& ports) -> Result<std::string> {
    runtime::v1::PortForwardRequest r;
    r.set_pod_sandbox_id("p1");
    for (uint16_t p : ports) r.add_port(p);
    return server_->GetPortForward(r);
  };
  auto first = url_for({echo.port(), closed});
  ASSERT_TRUE(first.ok());
  Captured os, es;
  PortForwardOptions opts;
  opts.transport = GetParam().transport;
  auto pf = PortForwarder::Start(
      *first, [&](uint16_t port) { return url_for({port}); },
      {PortSpec{0, echo.port()}, PortSpec{0, closed}}, opts, &os, &es);
  ASSERT_TRUE(pf.ok()) << pf.status().ToString();
  const auto& ports = (*pf)->ports();
  ASSERT_EQ(ports.size(), 2u);
  EXPECT_NE(ports[0].local, 0);
  EXPECT_NE(os.str().find("Forwarding from 127.0.0.1:" + std::to_string(ports[0].local) + " -> " +
                          std::to_string(echo.port())),
            std::string::npos)
      << os.str();

  auto roundtrip = [](uint16_t port, const std::string& msg) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a {};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string got;
    if (::connect(fd, reinterpret_cast<struct sockaddr*>(&a), sizeof a) == 0) {
      (void)!::send(fd, msg.data(), msg.size(), MSG_NOSIGNAL);
      char buf[65536];
      while (got.size() < msg.size()) {
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        got.append(buf, n);
      }
    }
    ::close(fd);
    return got;
  };
  std::vector<std::thread> threads;
  std::vector<std::string> got(6);
  std::string big(300UL * 1024, 'x');
  for (size_t i = 0; i < got.size(); ++i) {
    threads.emplace_back([&, i] { got[i] = roundtrip(ports[0].local, std::to_string(i) + big); });
  }
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], std::to_string(i) + big) << i;

  EXPECT_EQ(roundtrip(ports[1].local, "hello"), "");
  bool reported = false;
  for (int i = 0; i < 100 && !reported; ++i) {
    reported =
        es.str().find("error: an error occurred forwarding " + std::to_string(ports[1].local) +
                      " -> " + std::to_string(closed)) != std::string::npos;
    if (!reported) std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(reported) << es.str();
  (*pf)->Stop();
  EXPECT_TRUE((*pf)->Wait().ok());
}

INSTANTIATE_TEST_SUITE_P(All, CliStreamingTest,
                         ::testing::Values(Param{Transport::kSpdy, false},
                                           Param{Transport::kWebSocket, false},
                                           Param{Transport::kSpdy, true},
                                           Param{Transport::kWebSocket, true}),
                         Name);

TEST(CliStreamingParse, PortSpecs) {
  auto p = ParsePortSpec("8080");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->local, 8080);
  EXPECT_EQ(p->remote, 8080);
  p = ParsePortSpec(":80");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->local, 0);
  EXPECT_EQ(p->remote, 80);
  p = ParsePortSpec("0:80");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->local, 0);
  p = ParsePortSpec("9000:80");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->local, 9000);
  for (const char* bad : {"", "0", "80:0", "x:80", "80:", "70000", "1:2:3", "-1"}) {
    EXPECT_FALSE(ParsePortSpec(bad).ok()) << bad;
  }
}

TEST(CliStreamingParse, Urls) {
  auto u = ParseStreamUrl("http://127.0.0.1:1234/exec/abc?x=1");
  ASSERT_TRUE(u.ok());
  EXPECT_FALSE(u->tls);
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 1234);
  EXPECT_EQ(u->target, "/exec/abc?x=1");
  u = ParseStreamUrl("https://[::1]:99/x");
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->HostPort(), "[::1]:99");
  u = ParseStreamUrl("http://host");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->port, 80);
  EXPECT_EQ(u->target, "/");
  for (const char* bad : {"", "/exec/x", "ftp://h/", "http://:80/", "http://h:0/",
                          "http://h:99999/", "http://[::1/", "http://u@h/"}) {
    EXPECT_FALSE(ParseStreamUrl(bad).ok()) << bad;
  }
}

TEST(CliStreamingParse, V4Status) {
  EXPECT_EQ(*DecodeV4Status(""), 0);
  EXPECT_EQ(*DecodeV4Status(R"({"status":"Success"})"), 0);
  EXPECT_EQ(
      *DecodeV4Status(
          R"({"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"42"}]}})"),
      42);
  auto r = DecodeV4Status(R"({"status":"Failure","message":"container not running"})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "container not running");
  EXPECT_FALSE(DecodeV4Status("not json").ok());
  EXPECT_FALSE(DecodeV4Status(R"({"status":"Failure","reason":"NonZeroExitCode"})").ok());
  EXPECT_FALSE(
      DecodeV4Status(
          R"({"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"300"}]}})")
          .ok());
}

TEST(CliStreamingTerminal, RawModeIsRestored) {
  int master = -1, slave = -1;
  ASSERT_EQ(::openpty(&master, &slave, nullptr, nullptr, nullptr), 0);
  struct termios before {
  }, during{}, after{};
  ASSERT_EQ(::tcgetattr(slave, &before), 0);
  {
    auto raw = RawTerminal::Enter(slave);
    ASSERT_TRUE(raw.ok()) << raw.status().ToString();
    EXPECT_FALSE(RawTerminal::Enter(slave).ok()) << "two at once";
    ASSERT_EQ(::tcgetattr(slave, &during), 0);
    EXPECT_EQ(during.c_lflag & (ICANON | ECHO | ISIG), 0u);
  }
  ASSERT_EQ(::tcgetattr(slave, &after), 0);
  EXPECT_EQ(after.c_lflag, before.c_lflag);
  EXPECT_EQ(after.c_iflag, before.c_iflag);
  EXPECT_EQ(after.c_oflag, before.c_oflag);
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  EXPECT_FALSE(RawTerminal::Enter(fds[0]).ok()) << "a pipe is not a terminal";
  ::close(fds[0]);
  ::close(fds[1]);
  ::close(master);
  ::close(slave);
}

}  // namespace
}  // namespace berth::cli::streaming
