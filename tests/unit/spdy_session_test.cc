// SPDY/3.1 sessions over real sockets: a client-role Session against a server-role Session,
// and a raw peer built from the frame codec that behaves like Go's spdystream (no SETTINGS,
// no WINDOW_UPDATE) or like a hostile peer.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include "cri/streaming/spdy/frame.h"
#include "cri/streaming/spdy/header_block.h"
#include "cri/streaming/spdy/session.h"

namespace berth::streaming::spdy {
namespace {

using namespace std::chrono_literals;

std::pair<UniqueFd, UniqueFd> UnixPair() {
  int sv[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  return {UniqueFd(sv[0]), UniqueFd(sv[1])};
}

std::pair<UniqueFd, UniqueFd> TcpPair() {
  UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  EXPECT_EQ(::listen(listener.get(), 1), 0);
  socklen_t len = sizeof(addr);
  ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  UniqueFd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  EXPECT_EQ(::connect(client.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  UniqueFd server(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  return {std::move(client), std::move(server)};
}

char Pattern(uint64_t i) { return static_cast<char>((i * 131) ^ (i >> 11)); }

struct Pair {
  std::unique_ptr<Session> client;
  std::unique_ptr<Session> server;
  std::atomic<int> client_ends{0};
  std::atomic<int> server_ends{0};
};

std::unique_ptr<Pair> MakePair(bool tcp = false, uint32_t window = 4 << 20,
                               std::chrono::milliseconds server_idle = 0ms) {
  auto p = std::make_unique<Pair>();
  auto [a, b] = tcp ? TcpPair() : UnixPair();
  SessionOptions co;
  co.server = false;
  co.receive_window = window;
  co.on_end = [pp = p.get()] { pp->client_ends++; };
  SessionOptions so;
  so.server = true;
  so.receive_window = window;
  so.idle_timeout = server_idle;
  so.on_end = [pp = p.get()] { pp->server_ends++; };
  p->client = Session::Start(std::move(a), "", std::move(co));
  p->server = Session::Start(std::move(b), "", std::move(so));
  return p;
}

std::string ReadAll(Stream& s) {
  std::string out;
  char buf[8192];
  for (;;) {
    size_t n = s.Read(buf, sizeof(buf));
    if (n == 0) return out;
    out.append(buf, n);
  }
}

// A peer speaking raw frames, for behaviour our own Session never shows.
class RawPeer {
 public:
  explicit RawPeer(UniqueFd fd) : fd_(std::move(fd)) {}
  // Gives up when the session stops reading for 2 s (it does after a protocol error).
  void Send(const std::string& bytes) {
    size_t off = 0;
    while (off < bytes.size()) {
      pollfd p{fd_.get(), POLLOUT, 0};
      if (::poll(&p, 1, 2000) <= 0) return;
      ssize_t n =
          ::send(fd_.get(), bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && errno == EAGAIN) continue;
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  }
  std::string Block(const Headers& h) { return comp_.Compress(h).value(); }
  // The next frame; nullopt on EOF, error or timeout. Header blocks come back inflated.
  std::optional<Frame> Next(std::chrono::milliseconds timeout = 5s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto r = parser_.Next();
      if (!r.ok()) return std::nullopt;
      if (r->has_value()) {
        Frame f = std::move(**r);
        if (f.type == FrameType::kSynStream || f.type == FrameType::kSynReply ||
            f.type == FrameType::kHeaders) {
          auto h = decomp_.Decompress(f.payload);
          if (h.ok()) last_headers = *h;
        }
        return f;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{fd_.get(), POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
      char buf[65536];
      ssize_t n = ::recv(fd_.get(), buf, sizeof(buf), 0);
      if (n <= 0) return std::nullopt;
      parser_.Append(std::string_view(buf, static_cast<size_t>(n)));
    }
  }
  // Skips SETTINGS and WINDOW_UPDATE (spdystream ignores them too).
  std::optional<Frame> NextInteresting(std::chrono::milliseconds timeout = 5s) {
    for (;;) {
      auto f = Next(timeout);
      if (!f || (f->type != FrameType::kSettings && f->type != FrameType::kWindowUpdate)) return f;
    }
  }
  bool AtEof(std::chrono::milliseconds timeout = 5s) {
    for (;;) {
      auto f = Next(timeout);
      if (!f) {
        pollfd p{fd_.get(), POLLIN, 0};
        if (::poll(&p, 1, 0) <= 0) return false;
        char c;
        return ::recv(fd_.get(), &c, 1, 0) == 0;
      }
    }
  }
  int fd() const { return fd_.get(); }
  Headers last_headers;

 private:
  UniqueFd fd_;
  FrameParser parser_;
  HeaderCompressor comp_;
  HeaderDecompressor decomp_;
};

struct RawServer {
  std::atomic<int> ends{0};
  std::unique_ptr<Session> session;
  std::unique_ptr<RawPeer> peer;  // destroyed first: the session sees EOF, not a linger
};

std::unique_ptr<RawServer> MakeRawServer(uint32_t window = 4 << 20, std::string preread = "") {
  auto r = std::make_unique<RawServer>();
  auto [a, b] = UnixPair();
  r->peer = std::make_unique<RawPeer>(std::move(a));
  SessionOptions so;
  so.receive_window = window;
  so.on_end = [rr = r.get()] { rr->ends++; };
  r->session = Session::Start(std::move(b), std::move(preread), std::move(so));
  return r;
}

size_t CountEntries(const char* dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

// First in the file, so no earlier test's threads are still winding down.
TEST(SpdySession, NoFdOrThreadLeaks) {
  // Sanitizer runtimes start a helper thread with the first thread: get that out of the way.
  std::thread([] {}).join();
  size_t fds = CountEntries("/proc/self/fd");
  size_t threads = CountEntries("/proc/self/task");
  for (int i = 0; i < 5; ++i) {
    auto p = MakePair(/*tcp=*/i % 2 == 1);
    auto c = p->client->Open({{"a", "b"}}).value();
    auto s = p->server->Accept(5s);
    ASSERT_TRUE(s);
    ASSERT_TRUE(c->Write("x"));
    if (i % 2) p->client->Close();
  }
  {
    auto r = MakeRawServer();
    r->peer->Send(EncodePing(1) + EncodeData(0, 0, "x"));  // protocol error path
    EXPECT_TRUE(r->session->WaitEnded(5s));
  }
  // Threads detached by other code may still be finishing: give counts a moment to settle.
  for (int i = 0; i < 100; ++i) {
    if (CountEntries("/proc/self/fd") <= fds && CountEntries("/proc/self/task") <= threads) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(CountEntries("/proc/self/fd"), fds);
  EXPECT_EQ(CountEntries("/proc/self/task"), threads);
}

TEST(SpdySession, HeadersRoundTripAndReply) {
  auto p = MakePair();
  Headers h{{"streamtype", "stdout"}, {"port", "8080"}, {"requestid", "0"}};
  auto s = p->client->Open(h);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ((*s)->id() % 2, 1u);
  auto srv = p->server->Accept(5s);
  ASSERT_TRUE(srv);
  EXPECT_EQ(srv->headers(), h);
  EXPECT_EQ(srv->id(), (*s)->id());
  EXPECT_TRUE((*s)->WaitReply(5s));
  EXPECT_FALSE((*s)->Broken());
  EXPECT_EQ(p->client->Open({{"Bad", "x"}}).status().code(), StatusCode::kInvalidArgument);
}

TEST(SpdySession, DataAndFinBothWays) {
  auto p = MakePair();
  auto c = p->client->Open({{"streamtype", "stdin"}}).value();
  auto s = p->server->Accept(5s);
  ASSERT_TRUE(s);
  ASSERT_TRUE(c->Write("hello "));
  ASSERT_TRUE(c->Write("world"));
  c->Close();
  c->Close();  // idempotent
  EXPECT_FALSE(c->Write("late"));
  EXPECT_EQ(ReadAll(*s), "hello world");
  EXPECT_EQ(s->Read(nullptr, 0), 0u);
  ASSERT_TRUE(s->Write("answer"));
  s->Close();
  EXPECT_EQ(ReadAll(*c), "answer");
  EXPECT_FALSE(s->Broken());
}

TEST(SpdySession, OpenWithFinMeansNoData) {
  auto p = MakePair();
  auto c = p->client->Open({{"streamtype", "error"}}, /*fin=*/true).value();
  auto s = p->server->Accept(5s);
  ASSERT_TRUE(s);
  char b[4];
  EXPECT_EQ(s->Read(b, sizeof(b)), 0u);
  EXPECT_FALSE(c->Write("x"));
  ASSERT_TRUE(s->Write("{\"status\":\"Success\"}"));
  s->Close();
  EXPECT_EQ(ReadAll(*c), "{\"status\":\"Success\"}");
}

TEST(SpdySession, ManyConcurrentStreams) {
  auto p = MakePair();
  constexpr int kStreams = 100;
  std::thread echo([&] {
    std::vector<std::thread> workers;
    for (int i = 0; i < kStreams; ++i) {
      auto s = p->server->Accept(10s);
      ASSERT_TRUE(s);
      workers.emplace_back([s] {
        std::string got = ReadAll(*s);
        EXPECT_TRUE(s->Write(s->headers().at("requestid") + ":" + got));
        s->Close();
      });
    }
    for (auto& w : workers) w.join();
  });
  std::vector<std::shared_ptr<Stream>> streams;
  for (int i = 0; i < kStreams; ++i) {
    streams.push_back(p->client->Open({{"requestid", std::to_string(i)}}).value());
    ASSERT_TRUE(streams.back()->Write(std::string(1000 + i, static_cast<char>('a' + i % 26))));
  }
  for (auto& s : streams) s->Close();
  for (int i = 0; i < kStreams; ++i) {
    EXPECT_EQ(ReadAll(*streams[i]),
              std::to_string(i) + ":" + std::string(1000 + i, static_cast<char>('a' + i % 26)));
  }
  echo.join();
}

void PumpPattern(Stream& s, uint64_t total) {
  std::string chunk;
  for (uint64_t off = 0; off < total;) {
    size_t n = std::min<uint64_t>(100003, total - off);  // odd size: frames do not line up
    chunk.resize(n);
    for (size_t i = 0; i < n; ++i) chunk[i] = Pattern(off + i);
    ASSERT_TRUE(s.Write(chunk));
    off += n;
  }
  s.Close();
}

uint64_t CheckPattern(Stream& s) {
  uint64_t off = 0;
  std::vector<char> buf(70000);
  for (;;) {
    size_t n = s.Read(buf.data(), buf.size());
    if (n == 0) return off;
    for (size_t i = 0; i < n; ++i) {
      if (buf[i] != Pattern(off + i)) {
        ADD_FAILURE() << "corrupt byte at " << off + i;
        return off;
      }
    }
    off += n;
  }
}

TEST(SpdySession, SixtyFourMiBEachWayWithFlowControl) {
  // A small window forces hundreds of WINDOW_UPDATE round trips.
  auto p = MakePair(/*tcp=*/true, /*window=*/128 * 1024);
  constexpr uint64_t kTotal = 64ull << 20;
  auto c = p->client->Open({{"streamtype", "stdin"}}).value();
  auto s = p->server->Accept(5s);
  ASSERT_TRUE(s);
  std::thread up([&] { PumpPattern(*c, kTotal); });
  std::thread down([&] { PumpPattern(*s, kTotal); });
  uint64_t got_server = 0;
  std::thread check_server([&] { got_server = CheckPattern(*s); });
  EXPECT_EQ(CheckPattern(*c), kTotal);
  check_server.join();
  up.join();
  down.join();
  EXPECT_EQ(got_server, kTotal);
  EXPECT_TRUE(p->client->Ping(5s).ok());
}

// spdystream: sends no SETTINGS and never a WINDOW_UPDATE, ignores ours. We must neither stall
// after 64 KiB toward it nor reset it when it outruns the window we advertised.
TEST(SpdySession, SixtyFourMiBToAndFromAPeerWithoutFlowControl) {
  auto r = MakeRawServer(/*window=*/256 * 1024);
  r->peer->Send(EncodeSynStream(1, 0, r->peer->Block({{"streamtype", "stdout"}})));
  auto s = r->session->Accept(5s);
  ASSERT_TRUE(s);
  auto reply = r->peer->NextInteresting();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->type, FrameType::kSynReply);
  EXPECT_EQ(reply->stream_id, 1u);

  constexpr uint64_t kDown = 64ull << 20;
  std::thread down([&] { PumpPattern(*s, kDown); });
  uint64_t got = 0;
  bool fin = false;
  while (!fin) {
    auto f = r->peer->NextInteresting(10s);
    ASSERT_TRUE(f) << "after " << got << " bytes";
    ASSERT_EQ(f->type, FrameType::kData);
    ASSERT_LE(f->payload.size(), 64u * 1024);
    for (size_t i = 0; i < f->payload.size(); ++i)
      ASSERT_EQ(f->payload[i], Pattern(got + i)) << got + i;
    got += f->payload.size();
    fin = f->flags & kFlagFin;
  }
  down.join();
  EXPECT_EQ(got, kDown);

  // Upstream: 16 MiB in 1 MiB frames (spdystream sends whatever size it was handed) while
  // the application reads slowly at first; 64 x our window, all of it must arrive.
  constexpr uint64_t kUp = 16ull << 20;
  std::thread up([&] {
    std::string chunk;
    for (uint64_t off = 0; off < kUp; off += chunk.size()) {
      chunk.resize(1 << 20);
      for (size_t i = 0; i < chunk.size(); ++i) chunk[i] = Pattern(off + i);
      r->peer->Send(EncodeData(1, off + chunk.size() == kUp ? kFlagFin : 0, chunk));
    }
  });
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(CheckPattern(*s), kUp);
  up.join();
  EXPECT_FALSE(r->session->Ended());
}

// A sender may overrun the window we advertised (it started before our SETTINGS arrived, or it
// does no flow control at all): nothing is reset or lost, it is only held back.
TEST(SpdySession, PeerOverrunningItsWindowIsHeldBackNotReset) {
  auto r = MakeRawServer(/*window=*/64 * 1024);
  r->peer->Send(EncodeSettings({{0, kSettingsInitialWindowSize, 1 << 20}}));
  r->peer->Send(EncodeSynStream(1, 0, r->peer->Block({{"streamtype", "stdin"}})));
  auto s = r->session->Accept(5s);
  ASSERT_TRUE(s);
  std::thread send([&] {
    for (int i = 0; i < 32; ++i)  // 1 MiB, 16 times the window
      r->peer->Send(EncodeData(1, i == 31 ? kFlagFin : 0, std::string(size_t{32} * 1024, 'a')));
  });
  std::this_thread::sleep_for(200ms);  // the reader is held back meanwhile
  size_t got = 0;
  char b[65536];
  for (size_t n; (n = s->Read(b, sizeof(b))) > 0;) got += n;
  send.join();
  EXPECT_EQ(got, size_t{1} << 20);
  EXPECT_FALSE(s->Broken());
  for (std::optional<Frame> f; (f = r->peer->Next(300ms));)
    EXPECT_NE(f->type, FrameType::kRstStream);
  EXPECT_FALSE(r->session->Ended());
}

TEST(SpdySession, ResetEitherWay) {
  auto p = MakePair();
  auto c = p->client->Open({{"streamtype", "stdin"}}).value();
  auto s = p->server->Accept(5s);
  ASSERT_TRUE(s);
  std::thread blocked([&] {
    char b[8];
    EXPECT_EQ(s->Read(b, sizeof(b)), 0u);
  });
  c->Reset(kRstCancel);
  blocked.join();
  EXPECT_TRUE(s->Broken());
  EXPECT_FALSE(s->Write("x"));
  EXPECT_FALSE(c->Write("x"));

  auto c2 = p->client->Open({{"streamtype", "stdout"}}).value();
  auto s2 = p->server->Accept(5s);
  ASSERT_TRUE(s2);
  s2->Reset();
  char b[8];
  EXPECT_EQ(c2->Read(b, sizeof(b)), 0u);
  EXPECT_TRUE(c2->Broken());
  EXPECT_FALSE(p->server->Ended());
}

// kubelet's streaming server (spdystream) writes the v4 exit status on the error stream, then
// resets that stream and sends GOAWAY, all in one packet: the status must still be read.
TEST(SpdySession, DataBeforeAPeerResetAndGoAwayIsStillRead) {
  auto r = MakeRawServer();
  r->peer->Send(EncodeSynStream(1, 0, r->peer->Block({{"streamtype", "error"}})));
  auto s = r->session->Accept(5s);
  ASSERT_TRUE(s);
  r->peer->Send(EncodeData(1, 0, "{\"status\":\"Failure\"}") + EncodeRstStream(1, kRstCancel) +
                EncodeGoAway(0, 0));
  ASSERT_TRUE(r->session->WaitEnded(5s));
  std::string got;
  char b[64];
  for (size_t n; (n = s->Read(b, sizeof(b))) > 0;) got.append(b, n);
  EXPECT_EQ(got, "{\"status\":\"Failure\"}");
  EXPECT_TRUE(s->Broken());
}

TEST(SpdySession, PingBothDirections) {
  auto p = MakePair();
  auto rtt = p->client->Ping(5s);
  ASSERT_TRUE(rtt.ok()) << rtt.status().ToString();
  EXPECT_GT(rtt->count(), 0);
  EXPECT_TRUE(p->server->Ping(5s).ok());
}

TEST(SpdySession, PingTimesOutAgainstASilentPeer) {
  auto r = MakeRawServer();
  auto rtt = r->session->Ping(200ms);
  EXPECT_EQ(rtt.status().code(), StatusCode::kDeadlineExceeded);
}

TEST(SpdySession, CloseSendsGoAwayAndEndsBothSides) {
  auto p = MakePair();
  auto c = p->client->Open({{"streamtype", "stdout"}}).value();
  auto s = p->server->Accept(5s);
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->Write(std::string(300000, 'z')));
  p->server->Close();  // queued data still goes out before GOAWAY
  EXPECT_TRUE(p->client->WaitEnded(5s));
  EXPECT_EQ(ReadAll(*c).size(), 300000u);
  EXPECT_EQ(p->client->Open({}).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(p->server->Accept(10ms), nullptr);
  EXPECT_EQ(p->client->Ping(1s).status().code(), StatusCode::kUnavailable);
  p->client->Close();
  EXPECT_EQ(p->client_ends.load(), 1);
  EXPECT_EQ(p->server_ends.load(), 1);
}

TEST(SpdySession, PeerGoAwayEndsTheSession) {
  auto r = MakeRawServer();
  r->peer->Send(EncodeGoAway(0, kGoAwayOk));
  EXPECT_TRUE(r->session->WaitEnded(5s));
  EXPECT_TRUE(r->peer->AtEof());
  r->session->Close();
  EXPECT_EQ(r->ends.load(), 1);
}

TEST(SpdySession, IdleTimeout) {
  auto p = MakePair(false, 4 << 20, /*server_idle=*/600ms);
  // Traffic keeps it alive...
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(p->client->Ping(1s).ok());
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_FALSE(p->server->Ended());
  // ...silence ends it, on both sides.
  EXPECT_TRUE(p->server->WaitEnded(5s));
  EXPECT_TRUE(p->client->WaitEnded(5s));
  p->server->Close();  // on_end has run once Close returns (WaitEnded may be quicker)
  EXPECT_EQ(p->server_ends.load(), 1);
}

TEST(SpdySession, CloseUnblocksReadAndWrite) {
  auto p = MakePair(false, /*window=*/64 * 1024);
  auto c = p->client->Open({{"streamtype", "stdout"}}).value();
  auto s = p->server->Accept(5s);
  ASSERT_TRUE(s);
  ASSERT_TRUE(c->WaitReply(5s));
  std::atomic<bool> read_done{false}, write_done{false};
  std::thread reader([&] {
    char b[8];
    EXPECT_EQ(s->Read(b, sizeof(b)), 0u);
    read_done = true;
  });
  std::thread writer([&] {
    // The client never reads: the server blocks on the 64 KiB window.
    EXPECT_FALSE(s->Write(std::string(8 << 20, 'w')));
    write_done = true;
  });
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(read_done);
  EXPECT_FALSE(write_done);
  auto t0 = std::chrono::steady_clock::now();
  p->server->Close();
  reader.join();
  writer.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 8s);
  EXPECT_TRUE(s->Broken());
}

TEST(SpdySession, StreamOutlivesItsSession) {
  std::shared_ptr<Stream> c;
  {
    auto p = MakePair();
    c = p->client->Open({{"a", "b"}}).value();
  }
  char b[4];
  EXPECT_EQ(c->Read(b, sizeof(b)), 0u);
  EXPECT_FALSE(c->Write("x"));
  EXPECT_TRUE(c->Broken());
  c->Close();
  c->Reset();
}

TEST(SpdySession, PrereadBytesAreTheFirstFrames) {
  HeaderCompressor comp;
  std::string pre = EncodeSynStream(1, kFlagFin, comp.Compress({{"streamtype", "error"}}).value());
  auto [a, b] = UnixPair();
  SessionOptions so;
  auto session = Session::Start(std::move(b), pre, std::move(so));
  auto s = session->Accept(5s);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->headers().at("streamtype"), "error");
}

TEST(SpdySession, BadHeaderBlockResetsOnlyThatStream) {
  auto r = MakeRawServer();
  // Upper-case names are a stream error: RST_STREAM PROTOCOL_ERROR, session goes on.
  r->peer->Send(EncodeSynStream(1, 0, r->peer->Block({{"Upper", "x"}})));
  auto f = r->peer->NextInteresting();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->type, FrameType::kRstStream);
  EXPECT_EQ(f->status, kRstProtocolError);
  r->peer->Send(EncodeSynStream(3, 0, r->peer->Block({{"streamtype", "stdin"}})));
  EXPECT_TRUE(r->session->Accept(5s));
}

struct Malformed {
  const char* name;
  std::string bytes;
};

TEST(SpdySession, MalformedFramesEndTheSessionWithGoAway) {
  HeaderCompressor c;
  std::string wrong_version = EncodePing(1);
  wrong_version[1] = 2;
  std::string settings_lie = EncodeSettings({{0, 7, 1}});
  settings_lie[11] = 9;  // count 9, one entry
  std::vector<Malformed> cases = {
      {"bad version", wrong_version},
      {"garbage header block", EncodeSynStream(1, 0, "\x78\x9c\xff\xff garbage")},
      {"settings count", settings_lie},
      {"window delta 0", EncodeWindowUpdate(1, 0)},
      {"data on stream 0", EncodeData(0, 0, "x")},
      {"oversized control", EncodeSynStream(1, 0, std::string(3 << 20, 'x'))},
      {"stream id going backwards", EncodeSynStream(5, 0, c.Compress({}).value()) +
                                        EncodeSynStream(3, 0, c.Compress({}).value())},
      {"even stream id from a client", EncodeSynStream(2, 0, c.Compress({}).value())},
  };
  for (const Malformed& m : cases) {
    SCOPED_TRACE(m.name);
    auto r = MakeRawServer();
    r->peer->Send(m.bytes);
    std::optional<Frame> f;
    do {
      f = r->peer->Next();
      ASSERT_TRUE(f);
    } while (f->type != FrameType::kGoAway);
    EXPECT_EQ(f->status, kGoAwayProtocolError);
    EXPECT_TRUE(r->session->WaitEnded(5s));
    EXPECT_TRUE(r->peer->AtEof());
    r->session.reset();
    EXPECT_EQ(r->ends.load(), 1);
  }
}

TEST(SpdySession, AcceptSkipsStreamsThePeerAlreadyReset) {
  auto r = MakeRawServer();
  // Compress in wire order (operands of + have no evaluation order).
  std::string first = EncodeSynStream(1, 0, r->peer->Block({{"n", "1"}}));
  std::string second = EncodeSynStream(3, 0, r->peer->Block({{"n", "3"}}));
  r->peer->Send(first + EncodeRstStream(1, kRstCancel) + second);
  auto s = r->session->Accept(5s);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->id(), 3u);
  auto f = r->peer->NextInteresting();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->type, FrameType::kSynReply);
  EXPECT_EQ(f->stream_id, 3u);
}

TEST(SpdySession, DataOnAStreamThatNeverExistedIsRefused) {
  auto r = MakeRawServer();
  r->peer->Send(EncodeData(7, 0, "x"));
  auto f = r->peer->NextInteresting();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->type, FrameType::kRstStream);
  EXPECT_EQ(f->stream_id, 7u);
  EXPECT_EQ(f->status, kRstInvalidStream);
}

TEST(SpdySession, AdvertisesWindowsAtStart) {
  auto r = MakeRawServer(/*window=*/1 << 20);
  auto f = r->peer->Next();
  ASSERT_TRUE(f);
  ASSERT_EQ(f->type, FrameType::kSettings);
  ASSERT_EQ(f->settings.size(), 1u);
  EXPECT_EQ(f->settings[0].id, kSettingsInitialWindowSize);
  EXPECT_EQ(f->settings[0].value, 1u << 20);
  f = r->peer->Next();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->type, FrameType::kWindowUpdate);
  EXPECT_EQ(f->stream_id, 0u);
}

TEST(SpdySession, DroppedStreamDoesNotStallTheSession) {
  auto r = MakeRawServer(/*window=*/64 * 1024);
  r->peer->Send(EncodeSynStream(1, 0, r->peer->Block({{"streamtype", "stdin"}})));
  auto s = r->session->Accept(5s);
  ASSERT_TRUE(s);
  s.reset();  // the application stops reading this stream
  // A peer without flow control keeps sending: 2 MiB, 32 x the window. The reader thread must
  // discard it rather than wait for a reader that will never come.
  r->peer->Send(EncodeData(1, 0, std::string(2 << 20, 'x')) + EncodePing(1));
  std::optional<Frame> f;
  do {
    f = r->peer->Next();
    ASSERT_TRUE(f);
  } while (f->type != FrameType::kPing);
  EXPECT_FALSE(r->session->Ended());
}

TEST(SpdySession, OnEndMayDestroyTheSession) {
  auto [a, b] = UnixPair();
  std::unique_ptr<Session> holder;
  std::mutex mu;
  std::condition_variable cv;
  bool destroyed = false;
  SessionOptions so;
  so.on_end = [&] {
    std::unique_ptr<Session> doomed;
    {
      std::lock_guard lk(mu);
      doomed = std::move(holder);
    }
    doomed.reset();  // joins nothing from its own thread, must not deadlock
    std::lock_guard lk(mu);
    destroyed = true;
    cv.notify_all();
  };
  {
    std::lock_guard lk(mu);
    holder = Session::Start(std::move(b), "", std::move(so));
  }
  a.reset();  // peer gone: the session ends and on_end runs
  std::unique_lock lk(mu);
  EXPECT_TRUE(cv.wait_for(lk, 10s, [&] { return destroyed; }));
}

TEST(SpdySession, InvalidSocketEndsAtOnce) {
  SessionOptions so;
  std::atomic<int> ends{0};
  so.on_end = [&] { ends++; };
  auto s = Session::Start(UniqueFd(), "", std::move(so));
  EXPECT_TRUE(s->WaitEnded(5s));
  EXPECT_EQ(s->Accept(10ms), nullptr);
  s.reset();
  EXPECT_EQ(ends.load(), 1);
}

}  // namespace
}  // namespace berth::streaming::spdy
