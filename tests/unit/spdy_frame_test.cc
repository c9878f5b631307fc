// SPDY/3 frame codec and zlib header blocks: round trips, incremental parsing, and every
// malformation the parser and the header decoder must refuse.
#include <gtest/gtest.h>
#include <zlib.h>

#include <string>

#include "cri/streaming/spdy/frame.h"
#include "cri/streaming/spdy/header_block.h"

namespace berth::streaming::spdy {
namespace {

// Parses `bytes` fed one byte at a time; expects exactly one frame.
Frame ParseOneBytewise(const std::string& bytes) {
  FrameParser p;
  std::optional<Frame> got;
  for (size_t i = 0; i < bytes.size(); ++i) {
    p.Append(bytes.substr(i, 1));
    auto r = p.Next();
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return {};
    if (r->has_value()) {
      EXPECT_EQ(i, bytes.size() - 1) << "frame complete before its last byte";
      got = std::move(**r);
    }
  }
  EXPECT_TRUE(got.has_value());
  EXPECT_EQ(p.buffered(), 0u);
  return got.value_or(Frame{});
}

Status ParseError(const std::string& bytes, ParserLimits limits = {}) {
  FrameParser p(limits);
  p.Append(bytes);
  for (;;) {
    auto r = p.Next();
    if (!r.ok()) return r.status();
    if (!r->has_value()) return OkStatus();
  }
}

std::string ControlHeader(uint16_t version, uint16_t type, uint8_t flags, uint32_t len) {
  std::string s(8, '\0');
  s[0] = static_cast<char>(0x80 | (version >> 8));
  s[1] = static_cast<char>(version);
  s[2] = static_cast<char>(type >> 8);
  s[3] = static_cast<char>(type);
  s[4] = static_cast<char>(flags);
  s[5] = static_cast<char>(len >> 16);
  s[6] = static_cast<char>(len >> 8);
  s[7] = static_cast<char>(len);
  return s;
}

TEST(SpdyFrame, RoundTripEveryType) {
  Frame f = ParseOneBytewise(EncodeSynStream(5, kFlagFin, "block", 3, 6));
  EXPECT_EQ(f.type, FrameType::kSynStream);
  EXPECT_EQ(f.stream_id, 5u);
  EXPECT_EQ(f.associated_id, 3u);
  EXPECT_EQ(f.priority, 6);
  EXPECT_EQ(f.flags, kFlagFin);
  EXPECT_EQ(f.payload, "block");

  f = ParseOneBytewise(EncodeSynReply(7, 0, "xyz"));
  EXPECT_EQ(f.type, FrameType::kSynReply);
  EXPECT_EQ(f.stream_id, 7u);
  EXPECT_EQ(f.payload, "xyz");

  f = ParseOneBytewise(EncodeHeaders(9, kFlagFin, ""));
  EXPECT_EQ(f.type, FrameType::kHeaders);
  EXPECT_EQ(f.stream_id, 9u);
  EXPECT_EQ(f.flags, kFlagFin);

  f = ParseOneBytewise(EncodeRstStream(11, kRstFlowControlError));
  EXPECT_EQ(f.type, FrameType::kRstStream);
  EXPECT_EQ(f.stream_id, 11u);
  EXPECT_EQ(f.status, kRstFlowControlError);

  f = ParseOneBytewise(EncodeSettings({{1, kSettingsInitialWindowSize, 12345}, {0, 4, 100}}));
  EXPECT_EQ(f.type, FrameType::kSettings);
  ASSERT_EQ(f.settings.size(), 2u);
  EXPECT_EQ(f.settings[0].flags, 1);
  EXPECT_EQ(f.settings[0].id, kSettingsInitialWindowSize);
  EXPECT_EQ(f.settings[0].value, 12345u);
  EXPECT_EQ(f.settings[1].id, 4u);

  f = ParseOneBytewise(EncodePing(0xdeadbeef));
  EXPECT_EQ(f.type, FrameType::kPing);
  EXPECT_EQ(f.ping_id, 0xdeadbeefu);

  f = ParseOneBytewise(EncodeGoAway(13, kGoAwayProtocolError));
  EXPECT_EQ(f.type, FrameType::kGoAway);
  EXPECT_EQ(f.stream_id, 13u);
  EXPECT_EQ(f.status, kGoAwayProtocolError);

  f = ParseOneBytewise(EncodeWindowUpdate(0, 1 << 20));
  EXPECT_EQ(f.type, FrameType::kWindowUpdate);
  EXPECT_EQ(f.stream_id, 0u);
  EXPECT_EQ(f.delta, 1u << 20);

  f = ParseOneBytewise(EncodeData(15, kFlagFin, "payload"));
  EXPECT_EQ(f.type, FrameType::kData);
  EXPECT_EQ(f.stream_id, 15u);
  EXPECT_EQ(f.flags, kFlagFin);
  EXPECT_EQ(f.payload, "payload");
}

TEST(SpdyFrame, WireLayoutMatchesTheSpec) {
  // PING id 1: 80 03 00 06 | 00 00 00 04 | 00 00 00 01
  EXPECT_EQ(EncodePing(1), std::string("\x80\x03\x00\x06\x00\x00\x00\x04\x00\x00\x00\x01", 12));
  // DATA stream 3, FIN, "ab": 00 00 00 03 | 01 00 00 02 | a b
  EXPECT_EQ(EncodeData(3, kFlagFin, "ab"), std::string("\x00\x00\x00\x03\x01\x00\x00\x02"
                                                       "ab",
                                                       10));
}

TEST(SpdyFrame, ManyFramesInOneBufferAndSplitAnywhere) {
  std::string all = EncodePing(1) + EncodeData(1, 0, std::string(100000, 'x')) +
                    EncodeWindowUpdate(1, 5) + EncodeData(3, kFlagFin, "");
  for (size_t split : {size_t{1}, size_t{7}, size_t{8}, size_t{9}, size_t{50000}}) {
    FrameParser p;
    std::vector<Frame> frames;
    for (size_t off = 0; off < all.size(); off += split) {
      p.Append(std::string_view(all).substr(off, split));
      for (;;) {
        auto r = p.Next();
        ASSERT_TRUE(r.ok());
        if (!r->has_value()) break;
        frames.push_back(std::move(**r));
      }
    }
    ASSERT_EQ(frames.size(), 4u) << "split " << split;
    EXPECT_EQ(frames[1].payload.size(), 100000u);
    EXPECT_EQ(frames[3].flags, kFlagFin);
  }
}

TEST(SpdyFrame, NeedMoreIsNotAnError) {
  std::string ping = EncodePing(9);
  FrameParser p;
  p.Append(ping.substr(0, 11));
  auto r = p.Next();
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
  p.Append(ping.substr(11));
  r = p.Next();
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->has_value());
}

TEST(SpdyFrame, RejectsMalformedFrames) {
  auto expect_error = [](const std::string& bytes, const std::string& needle,
                         ParserLimits limits = {}) {
    Status s = ParseError(bytes, limits);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << needle;
    EXPECT_NE(s.message().find(needle), std::string::npos) << s.message();
  };
  expect_error(ControlHeader(2, 6, 0, 4) + std::string(4, '\1'), "unsupported version 2");
  expect_error(ControlHeader(3, 1, 0, kMaxFrameLength), "over the cap");
  expect_error(EncodeData(1, 0, std::string(2000, 'x')), "over the cap", {1000, 1000});
  expect_error(ControlHeader(3, 1, 0, 4) + std::string(4, '\0'), "< 10");
  expect_error(EncodeSynStream(0, 0, ""), "stream id 0");
  expect_error(EncodeSynReply(0, 0, ""), "stream id 0");
  expect_error(EncodeHeaders(0, 0, ""), "stream id 0");
  expect_error(EncodeRstStream(0, 1), "stream id 0");
  expect_error(EncodeRstStream(1, 0), "status 0");
  expect_error(EncodeData(0, 0, "x"), "stream id 0");
  expect_error(ControlHeader(3, 3, 0, 12) + std::string(12, '\1'), "!= 8");
  expect_error(ControlHeader(3, 6, 0, 8) + std::string(8, '\1'), "!= 4");
  expect_error(ControlHeader(3, 7, 0, 4) + std::string(4, '\1'), "!= 8");
  expect_error(ControlHeader(3, 9, 0, 4) + std::string(4, '\1'), "!= 8");
  expect_error(EncodeWindowUpdate(1, 0), "delta 0");
  // SETTINGS claiming 0xFFFFFFFF entries in 12 bytes (n * 8 overflows 32 bits).
  expect_error(
      ControlHeader(3, 4, 0, 12) + std::string("\xff\xff\xff\xff", 4) + std::string(8, '\0'),
      "entries");
  expect_error(ControlHeader(3, 4, 0, 2) + std::string(2, '\0'), "< 4");
}

TEST(SpdyFrame, ErrorIsSticky) {
  FrameParser p;
  p.Append(EncodeData(0, 0, "x"));
  EXPECT_FALSE(p.Next().ok());
  p.Append(EncodePing(1));
  EXPECT_FALSE(p.Next().ok());
}

TEST(SpdyFrame, UnknownControlTypesAreSkipped) {
  // NOOP (5) and CREDENTIAL (10) then a PING.
  std::string bytes =
      ControlHeader(3, 5, 0, 0) + ControlHeader(3, 10, 0, 3) + "abc" + EncodePing(3);
  FrameParser p;
  p.Append(bytes);
  auto r = p.Next();
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->type, FrameType::kPing);
}

TEST(SpdyHeaderBlock, DictionaryIsTheSpdy3One) {
  std::string_view d = SpdyDictionary();
  EXPECT_EQ(d.size(), 1423u);
  EXPECT_EQ(adler32(adler32(0, nullptr, 0), reinterpret_cast<const Bytef*>(d.data()), d.size()),
            0xe3c6a7c2u);
  EXPECT_EQ(d.substr(0, 11), std::string_view("\0\0\0\7options", 11));
  EXPECT_EQ(d.substr(d.size() - 7), ",enq=0.");
}

TEST(SpdyHeaderBlock, CompressedRoundTripSharesContextAcrossBlocks) {
  HeaderCompressor c;
  HeaderDecompressor d;
  for (int i = 0; i < 50; ++i) {
    Headers h{{"streamtype", i % 2 ? "stdout" : "error"},
              {"port", std::to_string(8000 + i)},
              {"requestid", std::to_string(i)},
              {"multi", std::string("a\0b", 3)}};
    auto block = c.Compress(h);
    ASSERT_TRUE(block.ok());
    auto got = d.Decompress(*block);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got, h);
  }
  auto empty = c.Compress({});
  ASSERT_TRUE(empty.ok());
  auto got = d.Decompress(*empty);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->empty());
}

TEST(SpdyHeaderBlock, DecodeRejectsBadBlocks) {
  auto bad = [](const std::string& block, const std::string& needle) {
    auto r = DecodeHeaderBlock(block);
    ASSERT_FALSE(r.ok()) << needle;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(needle), std::string::npos) << r.status().message();
  };
  std::string one = EncodeHeaderBlock({{"a", "b"}});
  bad("", "truncated count");
  bad(std::string("\0\0\0\5", 4) + one.substr(4), "count 5");
  bad(std::string("\xff\xff\xff\xff", 4), "count");
  bad(one.substr(0, one.size() - 1), "value 0 truncated");
  bad(std::string("\0\0\0\1\0\0\0\6a\0\0\0\0", 13), "name 0 truncated");
  bad(one + "x", "after the last pair");
  bad(EncodeHeaderBlock({{"", "v"}}), "empty name");
  bad(EncodeHeaderBlock({{"Upper", "v"}}), "lower-case");
  // Duplicate name: build by hand (a map cannot hold two).
  std::string dup = std::string("\0\0\0\2", 4) + one.substr(4) + one.substr(4);
  bad(dup, "duplicate");
  EXPECT_FALSE(ValidateHeaders({{"Bad", "x"}}).ok());
  EXPECT_FALSE(ValidateHeaders({{"", "x"}}).ok());
  EXPECT_TRUE(ValidateHeaders({{"streamtype", "stdin"}}).ok());
}

TEST(SpdyHeaderBlock, StreamLevelErrorKeepsTheContextUsable) {
  HeaderCompressor c;
  HeaderDecompressor d;
  auto bad = c.CompressRaw(EncodeHeaderBlock({{"Upper", "x"}}));
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(d.Decompress(*bad).status().code(), StatusCode::kInvalidArgument);
  auto good = c.Compress({{"ok", "1"}});
  ASSERT_TRUE(good.ok());
  auto got = d.Decompress(*good);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->at("ok"), "1");
}

TEST(SpdyHeaderBlock, ZipBombFailsCleanlyAndPoisonsTheContext) {
  HeaderCompressor c;
  // 8 MiB of zeros deflates to a few KiB.
  std::string block = std::string("\0\0\0\1\0\0\0\1a", 9) + std::string("\x00\x80\x00\x00", 4) +
                      std::string(8 << 20, '\0');
  auto bomb = c.CompressRaw(block);
  ASSERT_TRUE(bomb.ok());
  EXPECT_LT(bomb->size(), 64u * 1024);
  HeaderDecompressor d;
  auto r = d.Decompress(*bomb);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("over"), std::string::npos);
  auto next = c.Compress({{"a", "b"}});
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(d.Decompress(*next).status().code(), StatusCode::kDataLoss);
}

TEST(SpdyHeaderBlock, GarbageAndForeignDictionaryAreDataLoss) {
  HeaderDecompressor d;
  EXPECT_EQ(d.Decompress("\x78\xbb garbage garbage").status().code(), StatusCode::kDataLoss);

  // A zlib stream set up with another dictionary: its id does not match.
  z_stream s{};
  ASSERT_EQ(deflateInit(&s, Z_DEFAULT_COMPRESSION), Z_OK);
  const char other[] = "not the spdy dictionary";
  deflateSetDictionary(&s, reinterpret_cast<const Bytef*>(other), sizeof(other));
  std::string in = EncodeHeaderBlock({{"a", "b"}});
  unsigned char out[256];
  s.next_in = reinterpret_cast<Bytef*>(in.data());
  s.avail_in = static_cast<uInt>(in.size());
  s.next_out = out;
  s.avail_out = sizeof(out);
  ASSERT_EQ(deflate(&s, Z_SYNC_FLUSH), Z_OK);
  std::string compressed(reinterpret_cast<char*>(out), sizeof(out) - s.avail_out);
  deflateEnd(&s);
  HeaderDecompressor d2;
  auto r = d2.Decompress(compressed);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("dictionary"), std::string::npos);
}

}  // namespace
}  // namespace berth::streaming::spdy
