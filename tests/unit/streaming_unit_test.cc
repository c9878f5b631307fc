// cri/streaming pieces without a server: the token cache, the resize parser, the status JSON,
// CancelSource.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "cri/streaming/remote_command.h"
#include "cri/streaming/request_cache.h"

namespace berth::streaming {
namespace {

using namespace std::chrono_literals;

runtime::v1::ExecRequest Exec(const std::string& id) {
  runtime::v1::ExecRequest r;
  r.set_container_id(id);
  return r;
}

TEST(RequestCacheTest, SingleUseAndKind) {
  RequestCache cache(1min, 10);
  auto t = cache.Insert(Exec("a"));
  ASSERT_TRUE(t.ok());
  auto got = cache.Consume(*t);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(std::get<runtime::v1::ExecRequest>(*got).container_id(), "a");
  EXPECT_FALSE(cache.Consume(*t).has_value());
  EXPECT_FALSE(cache.Consume("").has_value());
  EXPECT_FALSE(cache.Consume("nonsense").has_value());
}

TEST(RequestCacheTest, Expiry) {
  RequestCache cache(100ms, 10);
  auto t = cache.Insert(Exec("a"));
  ASSERT_TRUE(t.ok());
  std::this_thread::sleep_for(200ms);
  EXPECT_FALSE(cache.Consume(*t).has_value());
}

TEST(RequestCacheTest, BoundedButExpiredEntriesMakeRoom) {
  RequestCache cache(150ms, 3);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(cache.Insert(Exec("x")).ok());
  auto full = cache.Insert(Exec("y"));
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.status().code(), StatusCode::kResourceExhausted);
  std::this_thread::sleep_for(200ms);
  EXPECT_TRUE(cache.Insert(Exec("y")).ok());
  EXPECT_EQ(cache.Size(), 1u);
}

TEST(RequestCacheTest, TokensAreDistinctAndConcurrencySafe) {
  RequestCache cache(1min, 100000);
  std::mutex mu;
  std::set<std::string> tokens;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        auto tok = cache.Insert(Exec("c"));
        ASSERT_TRUE(tok.ok());
        std::lock_guard lock(mu);
        tokens.insert(*tok);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(tokens.size(), 4000u);
  std::atomic<int> consumed{0};
  threads.clear();
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (const auto& tok : tokens) consumed += cache.Consume(tok).has_value();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(consumed, 4000);  // each exactly once across the threads
}

class StringInput final : public InputChannel {
 public:
  explicit StringInput(std::vector<std::string> parts) : parts_(std::move(parts)) {}
  size_t Read(char* buf, size_t len) override {
    if (i_ >= parts_.size()) return 0;
    std::string& p = parts_[i_];
    size_t n = std::min(len, p.size());
    std::memcpy(buf, p.data(), n);
    p.erase(0, n);
    if (p.empty()) ++i_;
    return n;
  }

 private:
  std::vector<std::string> parts_;
  size_t i_ = 0;
};

TEST(JsonResizeChannelTest, ConcatenatedSplitAndMalformed) {
  StringInput in({R"({"Width":80,"Height":24}{"Wid)", R"(th":1,"Height":2} )",
                  R"({"height": 70000, "width": -3, "x": "}{"})", "{nope"});
  JsonResizeChannel r(in);
  TerminalSize s;
  ASSERT_TRUE(r.Next(&s));
  EXPECT_EQ(s.width, 80);
  EXPECT_EQ(s.height, 24);
  ASSERT_TRUE(r.Next(&s));
  EXPECT_EQ(s.width, 1);
  EXPECT_EQ(s.height, 2);
  ASSERT_TRUE(r.Next(&s));
  EXPECT_EQ(s.width, 0);  // clamped
  EXPECT_EQ(s.height, 65535);
  EXPECT_FALSE(r.Next(&s));  // malformed: the channel ends
  EXPECT_FALSE(r.Next(&s));
}

TEST(StatusJsonTest, AsKubeletWritesThem) {
  EXPECT_EQ(SuccessStatusJson(), R"({"metadata":{},"status":"Success"})");
  EXPECT_EQ(NonZeroExitStatusJson(3, "detail"),
            R"({"metadata":{},"status":"Failure","message":"command terminated with non-zero )"
            R"(exit code: detail","reason":"NonZeroExitCode","details":{"causes":[{"reason":)"
            R"("ExitCode","message":"3"}]}})");
  EXPECT_EQ(InternalErrorStatusJson("boom"),
            R"({"metadata":{},"status":"Failure","message":"Internal error occurred: boom",)"
            R"("reason":"InternalError","details":{"causes":[{"message":"boom"}]},"code":500})");
}

TEST(CancelSourceTest, FiresOnceAndLateRegistrationRunsAtOnce) {
  CancelSource c;
  int n = 0;
  uint64_t h1 = c.OnCancel([&] { ++n; });
  uint64_t h2 = c.OnCancel([&] { n += 10; });
  c.Unregister(h2);
  EXPECT_FALSE(c.Cancelled());
  c.Fire();
  c.Fire();
  EXPECT_TRUE(c.Cancelled());
  EXPECT_EQ(n, 1);
  c.OnCancel([&] { n += 100; });
  EXPECT_EQ(n, 101);
  c.Unregister(h1);
}

TEST(CancelSourceTest, UnregisterWaitsForARunningCallback) {
  CancelSource c;
  std::atomic<bool> in_callback{false}, finished{false};
  uint64_t h = c.OnCancel([&] {
    in_callback = true;
    std::this_thread::sleep_for(200ms);
    finished = true;
  });
  std::thread t([&] { c.Fire(); });
  while (!in_callback) std::this_thread::yield();
  c.Unregister(h);
  EXPECT_TRUE(finished);
  t.join();
}

}  // namespace
}  // namespace berth::streaming
