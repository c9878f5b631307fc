// berth-shim pieces without containers: the CRI log writer and the frame codec.
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "berth/shim/v1/shim.pb.h"
#include "common/fs.h"
#include "shim/cri_log.h"
#include "shim/protocol/frame.h"
#include "tests/support/test_env.h"

namespace berth::shim {
namespace {

timespec FixedClock() { return timespec{1700000000, 120000000}; }

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
    out.push_back(text.substr(start, nl - start));
  }
  EXPECT_EQ(start, text.size()) << "text ends without a newline";
  return out;
}

TEST(CriLogTest, TimestampIsRfc3339NanoWithoutTrailingZeros) {
  char buf[64];
  CriLogWriter::FormatTimestamp(timespec{1700000000, 120000000}, buf);
  EXPECT_STREQ(buf, "2023-11-14T22:13:20.12Z");
  CriLogWriter::FormatTimestamp(timespec{1700000000, 0}, buf);
  EXPECT_STREQ(buf, "2023-11-14T22:13:20Z");
  CriLogWriter::FormatTimestamp(timespec{1700000000, 1}, buf);
  EXPECT_STREQ(buf, "2023-11-14T22:13:20.000000001Z");
}

TEST(CriLogTest, FullPartialAndLongLines) {
  testing::TempDir dir;
  std::string path = dir / "log";
  CriLogWriter w(path, &FixedClock);
  ASSERT_TRUE(w.Open().ok());
  w.Write(LogStream::kStdout, "hel", 3);
  w.Write(LogStream::kStderr, "oops\r\n", 6);
  w.Write(LogStream::kStdout, "lo\n\n", 4);
  std::string big(40 * 1024, 'a');
  big += '\n';
  w.Write(LogStream::kStdout, big.data(), big.size());
  std::string exact(CriLogWriter::kMaxLineSize, 'b');
  w.Write(LogStream::kStdout, exact.data(), exact.size());
  w.Write(LogStream::kStdout, "\n", 1);
  w.Write(LogStream::kStdout, "tail", 4);
  w.Flush(LogStream::kStdout);
  w.Flush(LogStream::kStderr);
  std::vector<std::string> lines = Lines(*ReadFile(path));
  const std::string ts = "2023-11-14T22:13:20.12Z ";
  ASSERT_EQ(lines.size(), 8u);
  EXPECT_EQ(lines[0], ts + "stderr F oops");
  EXPECT_EQ(lines[1], ts + "stdout F hello");
  EXPECT_EQ(lines[2], ts + "stdout F ");
  EXPECT_EQ(lines[3], ts + "stdout P " + std::string(16384, 'a'));
  EXPECT_EQ(lines[4], ts + "stdout P " + std::string(16384, 'a'));
  EXPECT_EQ(lines[5], ts + "stdout F " + std::string(40960 - 32768, 'a'));
  EXPECT_EQ(lines[6], ts + "stdout F " + exact);
  EXPECT_EQ(lines[7], ts + "stdout P tail");
}

TEST(CriLogTest, ReopenKeepsPartialLines) {
  testing::TempDir dir;
  CriLogWriter w(dir / "log", &FixedClock);
  ASSERT_TRUE(w.Open().ok());
  w.Write(LogStream::kStdout, "one\ntw", 6);
  ASSERT_EQ(rename((dir / "log").c_str(), (dir / "log.1").c_str()), 0);
  ASSERT_TRUE(w.Reopen().ok());
  w.Write(LogStream::kStdout, "o\n", 2);
  EXPECT_EQ(*ReadFile(dir / "log.1"), "2023-11-14T22:13:20.12Z stdout F one\n");
  EXPECT_EQ(*ReadFile(dir / "log"), "2023-11-14T22:13:20.12Z stdout F two\n");
}

TEST(FrameTest, RoundTripAndIncremental) {
  v1::Request req;
  req.set_version(v1::VERSION_1);
  req.mutable_kill()->set_signal(9);
  std::string wire;
  ASSERT_TRUE(AppendFrame(req, &wire).ok());
  ASSERT_TRUE(AppendFrame(req, &wire).ok());
  EXPECT_EQ(wire.size(), 2 * (4 + req.ByteSizeLong()));
  std::string buf, payload;
  int frames = 0;
  for (char c : wire) {  // byte by byte: frames appear only when complete
    buf.push_back(c);
    Result<bool> got = TakeFrame(buf, &payload);
    ASSERT_TRUE(got.ok());
    if (*got) {
      v1::Request back;
      ASSERT_TRUE(back.ParseFromString(payload));
      EXPECT_EQ(back.kill().signal(), 9u);
      ++frames;
    }
  }
  EXPECT_EQ(frames, 2);
  EXPECT_TRUE(buf.empty());
}

TEST(FrameTest, RejectsOversizedFrames) {
  std::string buf = "\x7f\xff\xff\xff";
  std::string payload;
  Result<bool> got = TakeFrame(buf, &payload);
  EXPECT_EQ(got.status().code(), StatusCode::kInvalidArgument);
}

TEST(FrameTest, BlockingSendAndRead) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  v1::Response resp;
  resp.set_code(5);
  resp.set_message("nope");
  ASSERT_TRUE(SendMessage(sv[0], resp).ok());
  v1::Response back;
  ASSERT_TRUE(ReadMessage(sv[1], &back, 1000).ok());
  EXPECT_EQ(back.message(), "nope");
  EXPECT_EQ(ReadMessage(sv[1], &back, 50).code(), StatusCode::kDeadlineExceeded);
  close(sv[0]);
  EXPECT_EQ(ReadMessage(sv[1], &back, 1000).code(), StatusCode::kUnavailable);
  close(sv[1]);
}

}  // namespace
}  // namespace berth::shim
