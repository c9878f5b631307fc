// StreamingServer over HTTP and SPDY/3.1 against real clients (spdy::Session in the client
// role after a hand-written upgrade request), with the in-test backend.
#include "cri/streaming/streaming_server.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "streaming_test_support.h"
#include "tests/support/test_env.h"

namespace berth::streaming {
namespace {

using namespace std::chrono_literals;
using testing::EchoServer;
using testing::ExecReq;
using testing::HttpRequest;
using testing::SpdyClient;
using testing::SpdyConnect;
using testing::TestBackend;

class StreamingServerTest : public ::testing::Test {
 protected:
  void Start(StreamingOptions o = {}) {
    auto s = StreamingServer::Start(std::move(o), backend_, Logger(LogLevel::kWarn));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
  }
  void SetUp() override {
    if (!skip_start_) Start();
  }
  std::string Exec(const runtime::v1::ExecRequest& r) {
    auto url = server_->GetExec(r);
    EXPECT_TRUE(url.ok());
    return url.ok() ? *url : "";
  }

  bool skip_start_ = false;
  TestBackend backend_;
  std::unique_ptr<StreamingServer> server_;
};

// The streams of one exec, opened as kubectl does (error first).
struct ExecStreamsClient {
  std::shared_ptr<spdy::Stream> error, in, out, err, resize;
};

ExecStreamsClient OpenStreams(spdy::Session& s, bool in, bool out, bool err, bool resize) {
  ExecStreamsClient c;
  auto open = [&](const char* type, bool fin) {
    auto r = s.Open({{"streamtype", type}}, fin);
    EXPECT_TRUE(r.ok());
    if (!r.ok()) return std::shared_ptr<spdy::Stream>();
    EXPECT_TRUE((*r)->WaitReply(5s));
    return *r;
  };
  c.error = open("error", true);
  if (in) c.in = open("stdin", false);
  if (out) c.out = open("stdout", true);
  if (err) c.err = open("stderr", true);
  if (resize) c.resize = open("resize", false);
  return c;
}

TEST_F(StreamingServerTest, BaseUrlAndTokens) {
  EXPECT_EQ(server_->BaseUrl().rfind("http://127.0.0.1:", 0), 0u);
  std::string a = Exec(ExecReq({"exit", "0"}, false, true, false));
  std::string b = Exec(ExecReq({"exit", "0"}, false, true, false));
  EXPECT_NE(a, b);
  std::string token = a.substr(a.rfind('/') + 1);
  EXPECT_EQ(token.size(), 43u);  // 32 bytes, base64url without padding
  EXPECT_EQ(
      token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
      std::string::npos);
}

TEST_F(StreamingServerTest, HttpErrors) {
  std::string base = server_->BaseUrl();
  auto r = HttpRequest(base + "/exec/nosuchtoken", "GET",
                       "Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\n");
  EXPECT_EQ(r.status, 404) << r.head;
  EXPECT_NE(r.body.find("token"), std::string::npos);

  r = HttpRequest(base + "/other/x", "GET", "");
  EXPECT_EQ(r.status, 404);

  std::string url = Exec(ExecReq({"exit", "0"}, false, true, false));
  r = HttpRequest(url, "PUT", "Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\n");
  EXPECT_EQ(r.status, 405);
  EXPECT_NE(r.head.find("Allow: GET, POST"), std::string::npos);

  r = HttpRequest(url, "GET", "");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("SPDY/3.1 or WebSocket"), std::string::npos) << r.body;

  // The token survived both refusals; an unsupported protocol consumes it (as kubelet).
  auto c = SpdyConnect(url, {"v9.channel.k8s.io"});
  EXPECT_EQ(c.status, 403) << c.head;
  EXPECT_NE(c.head.find("X-Stream-Protocol-Version: v4.channel.k8s.io"), std::string::npos);
  r = HttpRequest(url, "GET", "Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\n");
  EXPECT_EQ(r.status, 404);

  // An exec token is not an attach token.
  url = Exec(ExecReq({"exit", "0"}, false, true, false));
  std::string attach_url = base + "/attach/" + url.substr(url.rfind('/') + 1);
  EXPECT_EQ(SpdyConnect(attach_url, {"v4.channel.k8s.io"}).status, 404);
}

TEST_F(StreamingServerTest, RepeatedProtocolHeadersAreAllSeen) {
  auto u = testing::ParseUrl(Exec(ExecReq({"exit", "0"}, false, true, false)));
  auto conn = testing::ClientConn::Connect(u, false);
  conn->Send("GET " + u.path +
             " HTTP/1.1\r\nHost: x\r\nX-Stream-Protocol-Version: v9.channel.k8s.io\r\n"
             "Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
             "X-Stream-Protocol-Version: foo, v3.channel.k8s.io\r\n\r\n");
  std::string head = conn->ReadHead();
  EXPECT_EQ(head.rfind("HTTP/1.1 101", 0), 0u) << head;
  EXPECT_NE(head.find("X-Stream-Protocol-Version: v3.channel.k8s.io"), std::string::npos) << head;
}

TEST_F(StreamingServerTest, TokenIsSingleUse) {
  std::string url = Exec(ExecReq({"exit", "0"}, false, true, false));
  {
    auto c = SpdyConnect(url, {"v4.channel.k8s.io"});
    ASSERT_EQ(c.status, 101);
    auto s = OpenStreams(*c.session, false, true, false, false);
    EXPECT_EQ(testing::ReadAll(*s.error), R"({"metadata":{},"status":"Success"})");
  }
  auto again = SpdyConnect(url, {"v4.channel.k8s.io"});
  EXPECT_EQ(again.status, 404);
}

TEST(StreamingServerTtlTest, ExpiredTokenIsRefused) {
  TestBackend backend;
  StreamingOptions o;
  o.token_ttl = 200ms;
  auto s = StreamingServer::Start(o, backend, Logger(LogLevel::kWarn));
  ASSERT_TRUE(s.ok());
  auto url = (*s)->GetExec(ExecReq({"exit", "0"}, false, true, false));
  ASSERT_TRUE(url.ok());
  std::this_thread::sleep_for(400ms);
  EXPECT_EQ(SpdyConnect(*url, {"v4.channel.k8s.io"}).status, 404);
  (*s)->Stop();
  EXPECT_EQ((*s)->GetExec(ExecReq({"exit", "0"}, false, true, false)).status().code(),
            StatusCode::kUnavailable);
}

TEST_F(StreamingServerTest, StartFailsOnBusyPortAndBadAddress) {
  StreamingOptions o;
  o.port = testing::ParseUrl(server_->BaseUrl()).port;
  o.address = "127.0.0.1";
  TestBackend b;
  auto s = StreamingServer::Start(o, b, Logger(LogLevel::kWarn));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("127.0.0.1:" + std::to_string(o.port)), std::string::npos);
  o.port = 0;
  o.address = "localhost";
  EXPECT_EQ(StreamingServer::Start(o, b, Logger(LogLevel::kWarn)).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(StreamingServerTest, ExecV4EchoStdinUntilEof) {
  auto c = SpdyConnect(Exec(ExecReq({"echo"}, true, true, false)),
                       {"v2.channel.k8s.io", "v4.channel.k8s.io", "v3.channel.k8s.io"});
  ASSERT_EQ(c.status, 101);
  EXPECT_EQ(c.protocol, "v4.channel.k8s.io");  // the server's preference, not the client's
  auto s = OpenStreams(*c.session, true, true, false, false);
  ASSERT_TRUE(s.in->Write("hello "));
  ASSERT_TRUE(s.in->Write("world"));
  s.in->Close();  // stdin EOF ends the echo
  EXPECT_EQ(testing::ReadAll(*s.out), "hello world");
  EXPECT_EQ(testing::ReadAll(*s.error), R"({"metadata":{},"status":"Success"})");
}

TEST_F(StreamingServerTest, ExecV4NonZeroExitStatus) {
  auto c = SpdyConnect(Exec(ExecReq({"exit", "42"}, false, true, true)), {"v4.channel.k8s.io"});
  ASSERT_EQ(c.status, 101);
  auto s = OpenStreams(*c.session, false, true, true, false);
  std::string status = testing::ReadAll(*s.error);
  auto j = nlohmann::json::parse(status);
  EXPECT_EQ(j["status"], "Failure");
  EXPECT_EQ(j["reason"], "NonZeroExitCode");
  EXPECT_EQ(j["details"]["causes"][0]["reason"], "ExitCode");
  EXPECT_EQ(j["details"]["causes"][0]["message"], "42");
  EXPECT_EQ(
      j["message"].get<std::string>().rfind("command terminated with non-zero exit code: ", 0), 0u);
  EXPECT_EQ(status.rfind(R"({"metadata":{},"status":"Failure","message":)", 0), 0u) << status;
}

TEST_F(StreamingServerTest, ExecOlderProtocolsReportPlainText) {
  for (std::string proto : {"v3.channel.k8s.io", "v2.channel.k8s.io", "channel.k8s.io", ""}) {
    SCOPED_TRACE(proto);
    std::vector<std::string> offer;
    if (!proto.empty()) offer.push_back(proto);
    auto c = SpdyConnect(Exec(ExecReq({"exit", "7"}, false, true, false)), offer);
    ASSERT_EQ(c.status, 101);
    EXPECT_EQ(c.protocol, proto);
    auto s = OpenStreams(*c.session, false, true, false, false);
    std::string text = testing::ReadAll(*s.error);
    EXPECT_EQ(text.rfind("command terminated with non-zero exit code: ", 0), 0u) << text;
    EXPECT_NE(text.find("exit code 7"), std::string::npos);

    auto ok = SpdyConnect(Exec(ExecReq({"stderr", "oops"}, false, false, true)), offer);
    ASSERT_EQ(ok.status, 101);
    auto s2 = OpenStreams(*ok.session, false, false, true, false);
    EXPECT_EQ(testing::ReadAll(*s2.err), "oops");
    EXPECT_EQ(testing::ReadAll(*s2.error), "");  // success: nothing before v4
  }
}

TEST_F(StreamingServerTest, ExecBackendFailureIsInternalError) {
  auto c = SpdyConnect(Exec(ExecReq({"fail"}, false, true, false)), {"v4.channel.k8s.io"});
  ASSERT_EQ(c.status, 101);
  auto s = OpenStreams(*c.session, false, true, false, false);
  auto j = nlohmann::json::parse(testing::ReadAll(*s.error));
  EXPECT_EQ(j["reason"], "InternalError");
  EXPECT_EQ(j["code"], 500);
  EXPECT_NE(j["message"].get<std::string>().find("asked to fail"), std::string::npos);
}

TEST_F(StreamingServerTest, ResizeStreamDeliversSizes) {
  auto c =
      SpdyConnect(Exec(ExecReq({"resize", "3"}, false, true, false, true)), {"v4.channel.k8s.io"});
  ASSERT_EQ(c.status, 101);
  auto s = OpenStreams(*c.session, false, true, false, true);
  ASSERT_TRUE(s.resize);
  // Concatenated objects, split across frames, as Go's json.Encoder writes them.
  ASSERT_TRUE(s.resize->Write(R"({"Width":80,"Height":24})"));
  ASSERT_TRUE(s.resize->Write(R"({"Width":100,)"));
  ASSERT_TRUE(s.resize->Write(R"("Height":50}
{"width":1,"height":2})"));
  EXPECT_EQ(testing::ReadAll(*s.out), "80x24\n100x50\n1x2\n");
  EXPECT_EQ(testing::ReadAll(*s.error), R"({"metadata":{},"status":"Success"})");
}

TEST_F(StreamingServerTest, LargeOutputWithoutLoss) {
  constexpr uint64_t kSize = 64ull << 20;
  auto c = SpdyConnect(Exec(ExecReq({"bigout", std::to_string(kSize)}, false, true, false)),
                       {"v4.channel.k8s.io"});
  ASSERT_EQ(c.status, 101);
  auto s = OpenStreams(*c.session, false, true, false, false);
  uint64_t off = 0, bad = 0;
  char buf[65536];
  size_t n;
  while ((n = s.out->Read(buf, sizeof(buf))) > 0) {
    for (size_t i = 0; i < n; ++i) bad += buf[i] != testing::PatternByte(off + i);
    off += n;
  }
  EXPECT_EQ(off, kSize);
  EXPECT_EQ(bad, 0u);
  EXPECT_EQ(testing::ReadAll(*s.error), R"({"metadata":{},"status":"Success"})");
}

TEST_F(StreamingServerTest, AttachV4) {
  runtime::v1::AttachRequest a;
  a.set_container_id("c1");
  a.set_stdin(true);
  a.set_stdout(true);
  auto url = server_->GetAttach(a);
  ASSERT_TRUE(url.ok());
  auto c = SpdyConnect(*url, {"v4.channel.k8s.io"});
  ASSERT_EQ(c.status, 101);
  auto s = OpenStreams(*c.session, true, true, false, false);
  ASSERT_TRUE(s.in->Write("attached"));
  s.in->Close();
  EXPECT_EQ(testing::ReadAll(*s.out), "attached");
  EXPECT_EQ(testing::ReadAll(*s.error), R"({"metadata":{},"status":"Success"})");
}

TEST_F(StreamingServerTest, BackendStopEndsStdinAndResizeReads) {
  auto c =
      SpdyConnect(Exec(ExecReq({"stopstdin"}, true, true, false, true)), {"v4.channel.k8s.io"});
  ASSERT_EQ(c.status, 101);
  auto s = OpenStreams(*c.session, true, true, false, true);
  // stdin and resize stay open on the client side, as kubectl keeps them.
  EXPECT_EQ(testing::ReadAll(*s.out), "started");
  auto j = nlohmann::json::parse(testing::ReadAll(*s.error));
  EXPECT_EQ(j["details"]["causes"][0]["message"], "5");
}

TEST_F(StreamingServerTest, ClientDisconnectCancelsTheSession) {
  auto c = SpdyConnect(Exec(ExecReq({"wait"}, false, true, false)), {"v4.channel.k8s.io"});
  ASSERT_EQ(c.status, 101);
  auto s = OpenStreams(*c.session, false, true, false, false);
  for (int i = 0; i < 500 && backend_.running == 0; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(backend_.running, 1);
  c.session.reset();  // the client goes away mid-stream
  EXPECT_TRUE(backend_.WaitCancelled(5s));
  for (int i = 0; i < 500 && backend_.running != 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(backend_.running, 0);
}

TEST_F(StreamingServerTest, StopEndsOpenSessions) {
  auto c = SpdyConnect(Exec(ExecReq({"wait"}, false, true, false)), {"v4.channel.k8s.io"});
  ASSERT_EQ(c.status, 101);
  auto s = OpenStreams(*c.session, false, true, false, false);
  for (int i = 0; i < 500 && backend_.running == 0; ++i) std::this_thread::sleep_for(10ms);
  server_->Stop();
  EXPECT_TRUE(backend_.WaitCancelled(1s));
  EXPECT_EQ(backend_.running, 0);
  EXPECT_TRUE(c.session->WaitEnded(5s));
}

TEST_F(StreamingServerTest, MissingStreamsTimeOut) {
  server_.reset();
  StreamingOptions o;
  o.stream_creation_timeout = 300ms;
  Start(o);
  auto c = SpdyConnect(Exec(ExecReq({"exit", "0"}, true, true, false)), {"v4.channel.k8s.io"});
  ASSERT_EQ(c.status, 101);
  ASSERT_TRUE(c.session->Open({{"streamtype", "error"}}, true).ok());  // stdin/stdout never come
  EXPECT_TRUE(c.session->WaitEnded(5s));
  EXPECT_EQ(backend_.started, 0);
}

TEST_F(StreamingServerTest, IdleTimeoutCancels) {
  server_.reset();
  StreamingOptions o;
  o.idle_timeout = 300ms;
  Start(o);
  auto c = SpdyConnect(Exec(ExecReq({"wait"}, false, true, false)), {"v4.channel.k8s.io"});
  ASSERT_EQ(c.status, 101);
  auto s = OpenStreams(*c.session, false, true, false, false);
  EXPECT_TRUE(backend_.WaitCancelled(5s));
}

TEST_F(StreamingServerTest, GarbageAfterUpgradeEndsOnlyThatSession) {
  std::string url = Exec(ExecReq({"exit", "0"}, false, true, false));
  auto u = testing::ParseUrl(url);
  auto conn = testing::ClientConn::Connect(u, false);
  // The garbage arrives in the same segment as the request: it is the SPDY stream's start.
  static constexpr char kGarbage[] = "\x80\x07\x00\x01garbage: a control frame of SPDY version 7";
  const std::string garbage(kGarbage, sizeof(kGarbage) - 1);
  conn->Send("POST " + u.path +
             " HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
             "X-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n" +
             garbage);
  std::string head = conn->ReadHead();
  EXPECT_EQ(head.rfind("HTTP/1.1 101", 0), 0u) << head;
  conn->ReadAll();  // the server ends the session (GOAWAY) and closes: EOF, not a hang

  // Still serving.
  auto c = SpdyConnect(Exec(ExecReq({"exit", "0"}, false, true, false)), {"v4.channel.k8s.io"});
  ASSERT_EQ(c.status, 101);
  auto s = OpenStreams(*c.session, false, true, false, false);
  EXPECT_EQ(testing::ReadAll(*s.error), R"({"metadata":{},"status":"Success"})");
}

TEST_F(StreamingServerTest, PortForwardConcurrentConnectionsAndClosedPort) {
  EchoServer echo;
  uint16_t closed = testing::ClosedPort();
  runtime::v1::PortForwardRequest pf;
  pf.set_pod_sandbox_id("pod1");
  pf.add_port(echo.port());
  pf.add_port(closed);
  auto url = server_->GetPortForward(pf);
  ASSERT_TRUE(url.ok());
  auto c = SpdyConnect(*url, {"portforward.k8s.io"});
  ASSERT_EQ(c.status, 101);
  EXPECT_EQ(c.protocol, "portforward.k8s.io");

  auto open_pair = [&](int id, uint16_t port) {
    spdy::Headers h = {{"port", std::to_string(port)}, {"requestid", std::to_string(id)}};
    h["streamtype"] = "error";
    auto e = c.session->Open(h, true);
    h["streamtype"] = "data";
    auto d = c.session->Open(h, false);
    EXPECT_TRUE(e.ok() && d.ok());
    return std::make_pair(*d, *e);
  };
  constexpr int kConns = 8;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < kConns; ++i) {
    threads.emplace_back([&, i] {
      auto [data, error] = open_pair(i, echo.port());
      std::string msg = "connection " + std::to_string(i) + " " + std::string(100000 + i, 'x');
      std::thread writer([&, data = data] {
        data->Write(msg);
        data->Close();
      });
      std::string got = testing::ReadAll(*data);
      writer.join();
      if (got == msg && testing::ReadAll(*error).empty()) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, kConns);

  auto [data, error] = open_pair(100, closed);
  std::string err = testing::ReadAll(*error);
  EXPECT_NE(err.find("error forwarding port " + std::to_string(closed) + " to pod pod1"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("failed to connect to localhost:" + std::to_string(closed)),
            std::string::npos);
  EXPECT_EQ(testing::ReadAll(*data), "");

  // A port outside the request's list is refused without dialing.
  auto [d2, e2] = open_pair(101, static_cast<uint16_t>(echo.port() == 1 ? 2 : 1));
  EXPECT_NE(testing::ReadAll(*e2).find("was not requested"), std::string::npos);
}

TEST_F(StreamingServerTest, PortForwardBadHeadersAndLegacyRequestIds) {
  EchoServer echo;
  runtime::v1::PortForwardRequest pf;
  pf.set_pod_sandbox_id("pod1");  // no ports: any port may be forwarded
  auto url = server_->GetPortForward(pf);
  ASSERT_TRUE(url.ok());
  auto c = SpdyConnect(*url, {});
  ASSERT_EQ(c.status, 101);
  EXPECT_EQ(c.protocol, "");
  // Refused (reset) streams: no port, a bad port, an unknown type.
  for (spdy::Headers h :
       {spdy::Headers{{"streamtype", "data"}}, spdy::Headers{{"streamtype", "data"}, {"port", "0"}},
        spdy::Headers{{"streamtype", "data"}, {"port", "80x"}},
        spdy::Headers{{"streamtype", "video"}, {"port", "80"}}}) {
    auto s = c.session->Open(h, false);
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(testing::ReadAll(**s), "");
    EXPECT_TRUE((*s)->Broken());
  }
  // An old client without requestID: error stream N, data stream N+2 pair up.
  std::string port = std::to_string(echo.port());
  auto e = c.session->Open({{"streamtype", "error"}, {"port", port}}, true);
  auto d = c.session->Open({{"streamtype", "data"}, {"port", port}}, false);
  ASSERT_TRUE(e.ok() && d.ok());
  ASSERT_TRUE((*d)->Write("legacy"));
  (*d)->Close();
  EXPECT_EQ(testing::ReadAll(**d), "legacy");
  EXPECT_EQ(testing::ReadAll(**e), "");
}

int CountEntries(const char* dir) {
  int n = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}
int CountFds() { return CountEntries("/proc/self/fd"); }
int CountThreads() { return CountEntries("/proc/self/task"); }

TEST_F(StreamingServerTest, NoFdOrThreadLeftAfterSessions) {
  int before = CountFds();
  int threads_before = CountThreads();
  auto echo_holder = std::make_unique<EchoServer>();
  EchoServer& echo = *echo_holder;
  for (int i = 0; i < 3; ++i) {
    {
      auto c = SpdyConnect(Exec(ExecReq({"echo"}, true, true, false)), {"v4.channel.k8s.io"});
      ASSERT_EQ(c.status, 101);
      auto s = OpenStreams(*c.session, true, true, false, false);
      s.in->Write("x");
      s.in->Close();
      EXPECT_EQ(testing::ReadAll(*s.out), "x");
      testing::ReadAll(*s.error);
    }
    {
      runtime::v1::PortForwardRequest pf;
      pf.set_pod_sandbox_id("p");
      auto c = SpdyConnect(*server_->GetPortForward(pf), {"portforward.k8s.io"});
      ASSERT_EQ(c.status, 101);
      std::string port = std::to_string(echo.port());
      auto e = c.session->Open({{"streamtype", "error"}, {"port", port}, {"requestid", "1"}}, true);
      auto d = c.session->Open({{"streamtype", "data"}, {"port", port}, {"requestid", "1"}});
      (*d)->Write("y");
      (*d)->Close();
      EXPECT_EQ(testing::ReadAll(**d), "y");
    }
    EXPECT_EQ(HttpRequest(server_->BaseUrl() + "/exec/x", "GET", "").status, 400);
  }
  echo_holder.reset();  // the test's own echo sockets
  // Connection threads close their sockets as they end; the watchdog joins them.
  int after = 0;
  for (int i = 0; i < 300; ++i) {
    after = CountFds();
    if (after <= before) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_LE(after, before);
  int threads_after = 0;
  for (int i = 0; i < 300; ++i) {  // the watchdog joins finished connections once a second
    threads_after = CountThreads();
    if (threads_after <= threads_before) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_LE(threads_after, threads_before);
}

TEST(StreamingServerTlsTest, HttpsExecAndErrors) {
  berth::testing::TempDir dir;
  std::string cert, key;
  testing::WriteSelfSignedCert(dir.path(), &cert, &key);
  TestBackend backend;
  StreamingOptions o;
  o.tls_cert_file = cert;
  o.tls_key_file = key;
  auto server = StreamingServer::Start(o, backend, Logger(LogLevel::kWarn));
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  EXPECT_EQ((*server)->BaseUrl().rfind("https://127.0.0.1:", 0), 0u);

  auto r = HttpRequest((*server)->BaseUrl() + "/exec/unknown", "GET",
                       "Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\n", true);
  EXPECT_EQ(r.status, 404);

  auto url = (*server)->GetExec(ExecReq({"echo"}, true, true, false));
  ASSERT_TRUE(url.ok());
  {
    auto c = SpdyConnect(*url, {"v4.channel.k8s.io"}, true);
    ASSERT_EQ(c.status, 101);
    auto s = OpenStreams(*c.session, true, true, false, false);
    std::string big(3 << 20, 'q');
    std::thread w([&] {
      s.in->Write(big);
      s.in->Close();
    });
    EXPECT_EQ(testing::ReadAll(*s.out), big);
    w.join();
    EXPECT_EQ(testing::ReadAll(*s.error), R"({"metadata":{},"status":"Success"})");
  }

  // Mismatched cert/key configuration is refused at start.
  o.tls_key_file = "";
  EXPECT_EQ(StreamingServer::Start(o, backend, Logger(LogLevel::kWarn)).status().code(),
            StatusCode::kInvalidArgument);
  o.tls_key_file = dir / "missing.pem";
  EXPECT_EQ(StreamingServer::Start(o, backend, Logger(LogLevel::kWarn)).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace berth::streaming
