// plugins/runtime/shim_client: CallShimWithOutput against a scripted fake shim on a unix socket
// (no root, no container): output frames reach the sink in order before the answer, the
// answer's code becomes the status, the timeout bounds the whole call even while output keeps
// coming, and a shim that goes away mid-reply is UNAVAILABLE.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "berth/shim/v1/shim.pb.h"
#include "common/unique_fd.h"
#include "plugins/runtime/shim_client/shim_client.h"
#include "shim/protocol/frame.h"
#include "tests/support/test_env.h"

namespace berth::runtime_shim {
namespace {

namespace sv1 = ::berth::shim::v1;
using namespace std::chrono_literals;

sv1::Response Chunk(uint32_t stream, const std::string& data) {
  sv1::Response r;
  r.mutable_output()->set_stream(stream);
  r.mutable_output()->set_data(data);
  return r;
}

sv1::Request ExecRequest() {
  sv1::Request req;
  req.mutable_exec()->set_exec_id("x");
  req.mutable_exec()->set_sync(true);
  req.mutable_exec()->set_chunked_output_limit(1000);
  return req;
}

// A fake shim: accepts one connection, reads one Request, then runs `script` on the connection.
class FakeShim {
 public:
  explicit FakeShim(std::function<void(int fd, const sv1::Request&)> script)
      : path_(dir_ / "shim.sock") {
    listener_.reset(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    strncpy(addr.sun_path, path_.c_str(), sizeof(addr.sun_path) - 1);
    EXPECT_EQ(bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(listen(listener_.get(), 1), 0);
    thread_ = std::thread([this, script = std::move(script)] {
      UniqueFd conn(accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!conn) return;
      sv1::Request req;
      if (!shim::ReadMessage(conn.get(), &req, 5000).ok()) return;
      script(conn.get(), req);
    });
  }
  ~FakeShim() { thread_.join(); }
  const std::string& path() const { return path_; }

 private:
  testing::TempDir dir_;
  std::string path_;
  UniqueFd listener_;
  std::thread thread_;
};

TEST(CallShimWithOutput, ChunksArriveInOrderBeforeTheAnswer) {
  FakeShim shim([](int fd, const sv1::Request& req) {
    EXPECT_EQ(req.version(), sv1::VERSION_1);
    EXPECT_EQ(req.exec().chunked_output_limit(), 1000u);
    ASSERT_TRUE(shim::SendMessage(fd, Chunk(1, "out1 ")).ok());
    ASSERT_TRUE(shim::SendMessage(fd, Chunk(2, "err1")).ok());
    ASSERT_TRUE(shim::SendMessage(fd, Chunk(1, "out2")).ok());
    sv1::Response done;
    done.mutable_exec_sync()->set_exit_status(5);
    done.mutable_exec_sync()->set_output_truncated(true);
    ASSERT_TRUE(shim::SendMessage(fd, done).ok());
  });
  std::vector<std::pair<uint32_t, std::string>> got;
  Result<sv1::Response> r = CallShimWithOutput(
      shim.path(), ExecRequest(), 5000,
      [&](uint32_t stream, const std::string& data) { got.emplace_back(stream, data); });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exec_sync().exit_status(), 5);
  EXPECT_TRUE(r->exec_sync().output_truncated());
  std::vector<std::pair<uint32_t, std::string>> want = {{1, "out1 "}, {2, "err1"}, {1, "out2"}};
  EXPECT_EQ(got, want);
}

TEST(CallShimWithOutput, AnErrorAnswerIsTheStatus) {
  FakeShim shim([](int fd, const sv1::Request&) {
    ASSERT_TRUE(shim::SendMessage(fd, Chunk(1, "partial")).ok());
    sv1::Response done;
    done.set_code(static_cast<int32_t>(StatusCode::kDeadlineExceeded));
    done.set_message("exec x timed out");
    ASSERT_TRUE(shim::SendMessage(fd, done).ok());
  });
  std::string out;
  Result<sv1::Response> r = CallShimWithOutput(
      shim.path(), ExecRequest(), 5000, [&](uint32_t, const std::string& data) { out += data; });
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(r.status().message(), "exec x timed out");
  EXPECT_EQ(out, "partial");
}

TEST(CallShimWithOutput, TheTimeoutBoundsTheWholeCall) {
  // Output every 20 ms and never an answer: a per-frame timeout would wait for ever.
  FakeShim shim([](int fd, const sv1::Request&) {
    for (int i = 0; i < 500; ++i) {
      if (!shim::SendMessage(fd, Chunk(1, "tick")).ok()) return;  // the client left
      std::this_thread::sleep_for(20ms);
    }
  });
  size_t ticks = 0;
  auto t0 = std::chrono::steady_clock::now();
  Result<sv1::Response> r = CallShimWithOutput(shim.path(), ExecRequest(), 300,
                                               [&](uint32_t, const std::string&) { ++ticks; });
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded) << r.status().ToString();
  EXPECT_GE(took, 290ms);
  EXPECT_LT(took, 2s);
  EXPECT_GT(ticks, 3u);
}

TEST(CallShimWithOutput, AShimThatLeavesIsUnavailable) {
  FakeShim shim([](int fd, const sv1::Request&) {
    ASSERT_TRUE(shim::SendMessage(fd, Chunk(2, "bye")).ok());  // then the connection closes
  });
  Result<sv1::Response> r =
      CallShimWithOutput(shim.path(), ExecRequest(), 5000, [](uint32_t, const std::string&) {});
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
}

TEST(CallShimWithOutput, NoShimIsUnavailable) {
  testing::TempDir dir;
  Result<sv1::Response> r = CallShimWithOutput(dir / "shim.sock", ExecRequest(), 1000,
                                               [](uint32_t, const std::string&) {});
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
}

}  // namespace
}  // namespace berth::runtime_shim
