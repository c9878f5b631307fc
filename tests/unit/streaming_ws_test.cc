// StreamingServer over WebSocket (Beast client): every remote-command subprotocol, the v5
// close signal, resize, large output, malformed frames, port-forward, TLS.
#include <gtest/gtest.h>

#include <map>

#include <openssl/evp.h>

#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <nlohmann/json.hpp>

#include "cri/streaming/streaming_server.h"
#include "streaming_test_support.h"
#include "tests/support/test_env.h"

namespace berth::streaming {
namespace {

using namespace std::chrono_literals;
namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using testing::ExecReq;
using testing::TestBackend;

std::string B64(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3), '\0');
  out.resize(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                             reinterpret_cast<const unsigned char*>(in.data()),
                             static_cast<int>(in.size())));
  return out;
}
std::string UnB64(const std::string& in) {
  std::string out(in.size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(n < 0 ? 0 : static_cast<size_t>(n));
  // EVP_DecodeBlock keeps what the padding stands for as zero bytes.
  size_t pad =
      in.size() >= 1 && in.back() == '=' ? (in.size() >= 2 && in[in.size() - 2] == '=' ? 2 : 1) : 0;
  out.resize(out.size() >= pad ? out.size() - pad : 0);
  return out;
}

template <class Layer>
struct WsClientT {
  explicit WsClientT(net::io_context& ioc) : ws(ioc) {}
  template <class Ctx>
  WsClientT(net::io_context& ioc, Ctx& ctx) : ws(ioc, ctx) {}
  websocket::stream<Layer> ws;
  int status = 0;
  std::string protocol;
  bool base64 = false;

  void Send(int channel, std::string_view data) {
    std::string msg;
    if (base64) {
      msg = static_cast<char>('0' + channel) + B64(data);
      ws.text(true);
    } else {
      msg = static_cast<char>(channel) + std::string(data);
      ws.binary(true);
    }
    ws.write(net::buffer(msg));
  }
  void SendRaw(const std::string& msg) {
    ws.binary(true);
    ws.write(net::buffer(msg));
  }
  // The next message as (channel, payload); channel -1 at the end.
  std::pair<int, std::string> Next() {
    beast::flat_buffer buf;
    beast::error_code ec;
    ws.read(buf, ec);
    if (ec) return {-1, ec.message()};
    std::string m = beast::buffers_to_string(buf.data());
    if (m.empty()) return {-2, ""};
    if (base64) return {m[0] - '0', UnB64(m.substr(1))};
    return {static_cast<uint8_t>(m[0]), m.substr(1)};
  }
  // Everything until the server closes: channel → bytes, and the order channels first spoke.
  std::map<int, std::string> Drain(std::vector<int>* first = nullptr) {
    std::map<int, std::string> out;
    for (;;) {
      auto [ch, data] = Next();
      if (ch == -1) return out;
      if (first && !out.count(ch)) first->push_back(ch);
      out[ch] += data;
    }
  }
};
using WsClient = WsClientT<tcp::socket>;

void Handshake(auto& c, const std::string& url, const std::vector<std::string>& protocols) {
  auto u = testing::ParseUrl(url);
  std::string offer;
  for (const auto& p : protocols) offer += (offer.empty() ? "" : ", ") + p;
  c.ws.set_option(websocket::stream_base::decorator([offer](websocket::request_type& req) {
    if (!offer.empty()) req.set(beast::http::field::sec_websocket_protocol, offer);
  }));
  websocket::response_type res;
  beast::error_code ec;
  c.ws.handshake(res, u.host + ":" + std::to_string(u.port), u.path, ec);
  c.status = res.result_int();
  c.protocol = std::string(res[beast::http::field::sec_websocket_protocol]);
  c.base64 = c.protocol.find("base64") != std::string::npos;
}

std::unique_ptr<WsClient> WsConnect(net::io_context& ioc, const std::string& url,
                                    const std::vector<std::string>& protocols) {
  auto c = std::make_unique<WsClient>(ioc);
  auto u = testing::ParseUrl(url);
  c->ws.next_layer().connect(tcp::endpoint(net::ip::make_address(u.host), u.port));
  Handshake(*c, url, protocols);
  return c;
}

class StreamingWsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = StreamingServer::Start({}, backend_, Logger(LogLevel::kWarn));
    ASSERT_TRUE(s.ok());
    server_ = std::move(*s);
  }
  std::string Exec(const runtime::v1::ExecRequest& r) { return *server_->GetExec(r); }

  net::io_context ioc_;
  TestBackend backend_;
  std::unique_ptr<StreamingServer> server_;
};

TEST_F(StreamingWsTest, EverySubprotocolReportsTheExitCode) {
  struct Case {
    std::string proto;
    bool json;
  };
  for (const Case& k : {Case{"v5.channel.k8s.io", true}, Case{"v4.channel.k8s.io", true},
                        Case{"v4.base64.channel.k8s.io", true}, Case{"channel.k8s.io", false},
                        Case{"base64.channel.k8s.io", false}, Case{"", false}}) {
    SCOPED_TRACE(k.proto);
    std::vector<std::string> offer;
    if (!k.proto.empty()) offer = {"v9.unknown", k.proto};
    auto c = WsConnect(ioc_, Exec(ExecReq({"exit", "3"}, false, true, false)), offer);
    ASSERT_EQ(c->status, 101);
    EXPECT_EQ(c->protocol, k.proto);
    auto first = c->Next();  // the "session is up" message: empty, on stdout
    EXPECT_EQ(first.first, 1);
    EXPECT_EQ(first.second, "");
    auto out = c->Drain();
    if (k.json) {
      auto j = nlohmann::json::parse(out[3]);
      EXPECT_EQ(j["reason"], "NonZeroExitCode");
      EXPECT_EQ(j["details"]["causes"][0]["message"], "3");
    } else {
      EXPECT_EQ(out[3].rfind("command terminated with non-zero exit code: ", 0), 0u) << out[3];
    }
  }
}

TEST_F(StreamingWsTest, ProtocolMismatchIs403) {
  auto r = testing::HttpRequest(Exec(ExecReq({"exit", "0"}, false, true, false)), "GET",
                                "Connection: Upgrade\r\nUpgrade: websocket\r\n"
                                "Sec-WebSocket-Version: 13\r\n"
                                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                "Sec-WebSocket-Protocol: v9.channel.k8s.io, foo\r\n");
  EXPECT_EQ(r.status, 403) << r.head;
  EXPECT_NE(r.body.find("v5.channel.k8s.io"), std::string::npos) << r.body;
}

TEST_F(StreamingWsTest, StdinEchoAndV5CloseSignal) {
  for (std::string proto : {"v5.channel.k8s.io", "base64.channel.k8s.io"}) {
    SCOPED_TRACE(proto);
    auto c = WsConnect(ioc_, Exec(ExecReq({"echo"}, true, true, false)), {proto});
    ASSERT_EQ(c->status, 101);
    EXPECT_EQ(c->Next().first, 1);
    c->Send(0, "hello ");
    c->Send(0, "websocket");
    c->Send(3, "ignored: the error channel is write-only");
    std::string got;
    while (got.size() < 15) {
      auto [ch, data] = c->Next();
      ASSERT_EQ(ch, 1);
      got += data;
    }
    EXPECT_EQ(got, "hello websocket");
    if (proto == "v5.channel.k8s.io") {
      c->SendRaw(std::string("\xff\x00", 2));  // close stdin: EOF for the process
      auto out = c->Drain();
      EXPECT_EQ(out[3], R"({"metadata":{},"status":"Success"})");
    } else {
      c->ws.close(websocket::close_code::normal);  // no close signal before v5: hang up
      EXPECT_TRUE(backend_.running == 0 || backend_.started > 0);
    }
  }
}

TEST_F(StreamingWsTest, ResizeAndStderr) {
  auto c = WsConnect(ioc_, Exec(ExecReq({"resize", "2"}, false, true, false, true)),
                     {"v4.channel.k8s.io"});
  ASSERT_EQ(c->status, 101);
  c->Send(4, R"({"Width":120,"Height":40})");
  c->Send(4, R"({"Width":20,"Height":10})");
  auto out = c->Drain();
  EXPECT_EQ(out[1], "120x40\n20x10\n");
  EXPECT_EQ(out[3], R"({"metadata":{},"status":"Success"})");

  auto e = WsConnect(ioc_, Exec(ExecReq({"stderr", "to stderr"}, false, false, true)),
                     {"v4.channel.k8s.io"});
  std::vector<int> first;
  auto o2 = e->Drain(&first);
  EXPECT_EQ(first.at(0), 2);  // no stdout: the empty "up" message goes to stderr
  EXPECT_EQ(o2[2], "to stderr");
}

TEST_F(StreamingWsTest, LargeOutputWithoutLoss) {
  for (std::string proto : {"v4.channel.k8s.io", "base64.channel.k8s.io"}) {
    SCOPED_TRACE(proto);
    uint64_t size = proto[0] == 'v' ? 64ull << 20 : 8ull << 20;
    auto c = WsConnect(ioc_, Exec(ExecReq({"bigout", std::to_string(size)}, false, true, false)),
                       {proto});
    ASSERT_EQ(c->status, 101);
    uint64_t off = 0, bad = 0;
    std::string status;
    for (;;) {
      auto [ch, data] = c->Next();
      if (ch == -1) break;
      if (ch == 3) status += data;
      if (ch != 1) continue;
      for (size_t i = 0; i < data.size(); ++i) bad += data[i] != testing::PatternByte(off + i);
      off += data.size();
    }
    EXPECT_EQ(off, size);
    EXPECT_EQ(bad, 0u);
    if (proto[0] == 'v') {
      EXPECT_EQ(status, R"({"metadata":{},"status":"Success"})");
    }
  }
}

TEST_F(StreamingWsTest, MalformedMessagesCloseWithAnErrorAndTheServerKeepsServing) {
  struct Case {
    std::string proto;
    std::string msg;
    websocket::close_code code;
  };
  for (const Case& k :
       {Case{"v4.channel.k8s.io", std::string("\x09oops"), websocket::close_code::protocol_error},
        Case{"base64.channel.k8s.io", "0!!not base64", websocket::close_code::bad_payload},
        Case{"v5.channel.k8s.io", std::string("\xff"), websocket::close_code::protocol_error},
        Case{"v5.channel.k8s.io", std::string("\xff\x07", 2),
             websocket::close_code::protocol_error}}) {
    SCOPED_TRACE(k.proto);
    auto c = WsConnect(ioc_, Exec(ExecReq({"echo"}, true, true, false)), {k.proto});
    ASSERT_EQ(c->status, 101);
    c->Next();
    if (k.proto.find("base64") != std::string::npos) {
      c->ws.text(true);
      c->ws.write(net::buffer(k.msg));
    } else {
      c->SendRaw(k.msg);
    }
    c->Drain();
    EXPECT_EQ(c->ws.reason().code, k.code);
    EXPECT_FALSE(std::string(c->ws.reason().reason.data(), c->ws.reason().reason.size()).empty());
  }
  // A frame that is not WebSocket at all (unmasked, reserved opcode) on a raw socket.
  {
    auto c = WsConnect(ioc_, Exec(ExecReq({"echo"}, true, true, false)), {"v4.channel.k8s.io"});
    ASSERT_EQ(c->status, 101);
    c->Next();
    net::write(c->ws.next_layer(), net::buffer(std::string("\x83\x7f\xff\xff garbage", 12)));
    beast::error_code ec;
    char buf[256];
    while (!ec) c->ws.next_layer().read_some(net::buffer(buf), ec);  // the server hangs up
  }
  for (int i = 0; i < 500 && backend_.running != 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(backend_.running, 0);  // every echo was cancelled (its stdin ended)

  auto c = WsConnect(ioc_, Exec(ExecReq({"exit", "0"}, false, true, false)), {"v4.channel.k8s.io"});
  ASSERT_EQ(c->status, 101);
  EXPECT_EQ(c->Drain()[3], R"({"metadata":{},"status":"Success"})");
}

TEST_F(StreamingWsTest, BackendStopEndsStdinAndResizeReads) {
  auto c =
      WsConnect(ioc_, Exec(ExecReq({"stopstdin"}, true, true, false, true)), {"v5.channel.k8s.io"});
  ASSERT_EQ(c->status, 101);
  auto out = c->Drain();
  EXPECT_EQ(out[1], "started");
  auto j = nlohmann::json::parse(out[3]);
  EXPECT_EQ(j["details"]["causes"][0]["message"], "5");
}

TEST_F(StreamingWsTest, ClientDisconnectCancels) {
  auto c = WsConnect(ioc_, Exec(ExecReq({"wait"}, false, true, false)), {"v5.channel.k8s.io"});
  ASSERT_EQ(c->status, 101);
  c->Next();
  beast::error_code ec;
  c->ws.next_layer().close(ec);
  EXPECT_TRUE(backend_.WaitCancelled(5s));
}

TEST(StreamingWsIdleTest, IdleTimeoutCancels) {
  TestBackend backend;
  StreamingOptions o;
  o.idle_timeout = 300ms;
  auto server = StreamingServer::Start(o, backend, Logger(LogLevel::kWarn));
  ASSERT_TRUE(server.ok());
  net::io_context ioc;
  auto c = WsConnect(ioc, *(*server)->GetExec(ExecReq({"wait"}, false, true, false)),
                     {"v4.channel.k8s.io"});
  ASSERT_EQ(c->status, 101);
  EXPECT_TRUE(backend.WaitCancelled(5s));
  c->Drain();  // and the connection is closed
}

TEST_F(StreamingWsTest, PortForward) {
  testing::EchoServer echo;
  uint16_t closed = testing::ClosedPort();
  runtime::v1::PortForwardRequest pf;
  pf.set_pod_sandbox_id("pod1");
  auto url = server_->GetPortForward(pf);
  ASSERT_TRUE(url.ok());
  auto c =
      WsConnect(ioc_, *url + "?port=" + std::to_string(echo.port()) + "," + std::to_string(closed),
                {"v4.channel.k8s.io"});
  ASSERT_EQ(c->status, 101);
  std::map<int, std::string> got;
  auto le = [](uint16_t p) {
    return std::string{static_cast<char>(p & 0xff), static_cast<char>(p >> 8)};
  };
  std::map<int, bool> first_seen;
  c->Send(0, "ping over websocket");
  std::string echoed, error;
  while (echoed.size() < 2 + 19 || error.size() <= 2) {
    auto [ch, data] = c->Next();
    ASSERT_GE(ch, 0);
    if (!first_seen[ch]) {  // each channel's first message starts with its port
      first_seen[ch] = true;
      EXPECT_EQ(data.substr(0, 2), le(ch < 2 ? echo.port() : closed)) << ch;
    }
    if (ch == 0) {
      echoed += data;
    } else if (ch == 3) {
      error += data;
    }
  }
  EXPECT_EQ(echoed.substr(2), "ping over websocket");
  EXPECT_NE(error.find("failed to connect to localhost:" + std::to_string(closed)),
            std::string::npos)
      << error;

  // Without ports in the request nor the query: 400.
  auto r = testing::HttpRequest(*server_->GetPortForward(pf), "GET",
                                "Connection: Upgrade\r\nUpgrade: websocket\r\n"
                                "Sec-WebSocket-Version: 13\r\n"
                                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("port"), std::string::npos);
}

TEST(StreamingWsTlsTest, ExecOverWss) {
  berth::testing::TempDir dir;
  std::string cert, key;
  testing::WriteSelfSignedCert(dir.path(), &cert, &key);
  TestBackend backend;
  StreamingOptions o;
  o.tls_cert_file = cert;
  o.tls_key_file = key;
  auto server = StreamingServer::Start(o, backend, Logger(LogLevel::kWarn));
  ASSERT_TRUE(server.ok());
  net::io_context ioc;
  net::ssl::context ctx(net::ssl::context::tls_client);
  ctx.set_verify_mode(net::ssl::verify_none);
  WsClientT<beast::ssl_stream<tcp::socket>> c(ioc, ctx);
  std::string url = *(*server)->GetExec(ExecReq({"echo"}, true, true, false));
  auto u = testing::ParseUrl(url);
  beast::get_lowest_layer(c.ws).connect(tcp::endpoint(net::ip::make_address(u.host), u.port));
  c.ws.next_layer().handshake(net::ssl::stream_base::client);
  Handshake(c, url, {"v5.channel.k8s.io"});
  ASSERT_EQ(c.status, 101);
  c.Next();
  c.Send(0, "secret");
  c.SendRaw(std::string("\xff\x00", 2));
  auto out = c.Drain();
  EXPECT_EQ(out[1], "secret");
  EXPECT_EQ(out[3], R"({"metadata":{},"status":"Success"})");
}

}  // namespace
}  // namespace berth::streaming
