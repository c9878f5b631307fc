#include "cri/streaming/spdy/frame.h"

#include <cstring>

namespace berth::streaming::spdy {
namespace {

uint32_t Get32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

void Put32(std::string* out, uint32_t v) {
  char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
               static_cast<char>(v)};
  out->append(b, 4);
}

void PutControlHeader(std::string* out, FrameType type, uint8_t flags, uint32_t length) {
  Put32(out, 0x80000000u | (uint32_t{kSpdyVersion} << 16) | static_cast<uint16_t>(type));
  Put32(out, (uint32_t{flags} << 24) | (length & kMaxFrameLength));
}

Status Invalid(FrameType type, const std::string& what) {
  return InvalidArgument(std::string("spdy ") + std::string(FrameTypeName(type)) + ": " + what);
}

bool IsKnownControlType(uint16_t t) {
  switch (t) {
    case 1:
    case 2:
    case 3:
    case 4:
    case 6:
    case 7:
    case 8:
    case 9:
      return true;
    default:
      return false;
  }
}

// Decodes the payload of a known control frame (exactly `len` bytes at `p`).
Result<Frame> ParseControl(FrameType type, uint8_t flags, const unsigned char* p, uint32_t len) {
  Frame f;
  f.type = type;
  f.flags = flags;
  switch (type) {
    case FrameType::kSynStream:
      if (len < 10) return Invalid(type, "length " + std::to_string(len) + " < 10");
      f.stream_id = Get32(p) & kMaxStreamId;
      f.associated_id = Get32(p + 4) & kMaxStreamId;
      f.priority = p[8] >> 5;
      f.slot = p[9];
      f.payload.assign(reinterpret_cast<const char*>(p + 10), len - 10);
      break;
    case FrameType::kSynReply:
    case FrameType::kHeaders:
      if (len < 4) return Invalid(type, "length " + std::to_string(len) + " < 4");
      f.stream_id = Get32(p) & kMaxStreamId;
      f.payload.assign(reinterpret_cast<const char*>(p + 4), len - 4);
      break;
    case FrameType::kRstStream:
      if (len != 8) return Invalid(type, "length " + std::to_string(len) + " != 8");
      f.stream_id = Get32(p) & kMaxStreamId;
      f.status = Get32(p + 4);
      if (f.status == 0) return Invalid(type, "status 0");
      break;
    case FrameType::kSettings: {
      if (len < 4) return Invalid(type, "length " + std::to_string(len) + " < 4");
      uint32_t n = Get32(p);
      // Compare in 64 bits: n * 8 overflows 32 bits for a hostile count.
      if (uint64_t{n} * 8 + 4 != len)
        return Invalid(type,
                       std::to_string(n) + " entries do not fill length " + std::to_string(len));
      f.settings.reserve(n);
      for (uint32_t i = 0; i < n; ++i) {
        const unsigned char* e = p + 4 + size_t{i} * 8;
        uint32_t word = Get32(e);
        f.settings.push_back({static_cast<uint8_t>(word >> 24), word & 0xFFFFFF, Get32(e + 4)});
      }
      return f;  // stream id does not apply
    }
    case FrameType::kPing:
      if (len != 4) return Invalid(type, "length " + std::to_string(len) + " != 4");
      f.ping_id = Get32(p);
      return f;
    case FrameType::kGoAway:
      if (len != 8) return Invalid(type, "length " + std::to_string(len) + " != 8");
      f.stream_id = Get32(p) & kMaxStreamId;
      f.status = Get32(p + 4);
      return f;  // last-good id 0 is legal
    case FrameType::kWindowUpdate:
      if (len != 8) return Invalid(type, "length " + std::to_string(len) + " != 8");
      f.stream_id = Get32(p) & kMaxStreamId;
      f.delta = Get32(p + 4) & kMaxWindow;
      if (f.delta == 0) return Invalid(type, "delta 0");
      return f;  // stream 0 is the session window (SPDY/3.1)
    case FrameType::kData:
      return Invalid(type, "not a control frame");
  }
  if (f.stream_id == 0) return Invalid(type, "stream id 0");
  return f;
}

}  // namespace

std::string_view FrameTypeName(FrameType type) {
  switch (type) {
    case FrameType::kData:
      return "DATA";
    case FrameType::kSynStream:
      return "SYN_STREAM";
    case FrameType::kSynReply:
      return "SYN_REPLY";
    case FrameType::kRstStream:
      return "RST_STREAM";
    case FrameType::kSettings:
      return "SETTINGS";
    case FrameType::kPing:
      return "PING";
    case FrameType::kGoAway:
      return "GOAWAY";
    case FrameType::kHeaders:
      return "HEADERS";
    case FrameType::kWindowUpdate:
      return "WINDOW_UPDATE";
  }
  return "UNKNOWN";
}

void FrameParser::Append(std::string_view bytes) {
  if (!error_.ok()) return;
  // Drop what was consumed before growing, so the buffer stays about one frame long.
  if (pos_ > 0 && (pos_ == buf_.size() || pos_ >= size_t{64} * 1024)) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  buf_.append(bytes);
}

Result<std::optional<Frame>> FrameParser::Next() {
  if (!error_.ok()) return error_;
  for (;;) {
    size_t avail = buf_.size() - pos_;
    if (avail < kFrameHeaderSize) return std::optional<Frame>();
    const auto* h = reinterpret_cast<const unsigned char*>(buf_.data() + pos_);
    uint32_t w0 = Get32(h);
    uint32_t w1 = Get32(h + 4);
    uint8_t flags = static_cast<uint8_t>(w1 >> 24);
    uint32_t len = w1 & kMaxFrameLength;
    bool control = (w0 & 0x80000000u) != 0;
    if (control) {
      uint16_t version = static_cast<uint16_t>((w0 >> 16) & 0x7FFF);
      uint16_t type = static_cast<uint16_t>(w0 & 0xFFFF);
      if (version != kSpdyVersion) {
        error_ = InvalidArgument("spdy: unsupported version " + std::to_string(version));
        return error_;
      }
      if (len > limits_.max_control_length) {
        error_ = InvalidArgument("spdy: control frame type " + std::to_string(type) + " length " +
                                 std::to_string(len) + " over the cap " +
                                 std::to_string(limits_.max_control_length));
        return error_;
      }
      if (avail - kFrameHeaderSize < len) return std::optional<Frame>();
      const unsigned char* payload = h + kFrameHeaderSize;
      pos_ += kFrameHeaderSize + len;
      if (!IsKnownControlType(type)) continue;  // NOOP, CREDENTIAL, ...: ignored by the spec
      Result<Frame> f = ParseControl(static_cast<FrameType>(type), flags, payload, len);
      if (!f.ok()) {
        error_ = f.status();
        return error_;
      }
      return std::optional<Frame>(std::move(f).value());
    }
    if (len > limits_.max_data_length) {
      error_ = InvalidArgument("spdy: DATA length " + std::to_string(len) + " over the cap " +
                               std::to_string(limits_.max_data_length));
      return error_;
    }
    uint32_t stream_id = w0 & kMaxStreamId;
    if (stream_id == 0) {
      error_ = InvalidArgument("spdy DATA: stream id 0");
      return error_;
    }
    if (avail - kFrameHeaderSize < len) return std::optional<Frame>();
    Frame f;
    f.type = FrameType::kData;
    f.flags = flags;
    f.stream_id = stream_id;
    f.payload.assign(reinterpret_cast<const char*>(h + kFrameHeaderSize), len);
    pos_ += kFrameHeaderSize + len;
    return std::optional<Frame>(std::move(f));
  }
}

std::string EncodeFrame(const Frame& f) {
  std::string out;
  switch (f.type) {
    case FrameType::kData:
      AppendDataFrame(&out, f.stream_id, f.flags, f.payload);
      return out;
    case FrameType::kSynStream:
      PutControlHeader(&out, f.type, f.flags, static_cast<uint32_t>(10 + f.payload.size()));
      Put32(&out, f.stream_id & kMaxStreamId);
      Put32(&out, f.associated_id & kMaxStreamId);
      out.push_back(static_cast<char>((f.priority & 7) << 5));
      out.push_back(static_cast<char>(f.slot));
      out.append(f.payload);
      return out;
    case FrameType::kSynReply:
    case FrameType::kHeaders:
      PutControlHeader(&out, f.type, f.flags, static_cast<uint32_t>(4 + f.payload.size()));
      Put32(&out, f.stream_id & kMaxStreamId);
      out.append(f.payload);
      return out;
    case FrameType::kRstStream:
      PutControlHeader(&out, f.type, f.flags, 8);
      Put32(&out, f.stream_id & kMaxStreamId);
      Put32(&out, f.status);
      return out;
    case FrameType::kSettings:
      PutControlHeader(&out, f.type, f.flags, static_cast<uint32_t>(4 + 8 * f.settings.size()));
      Put32(&out, static_cast<uint32_t>(f.settings.size()));
      for (const Setting& s : f.settings) {
        Put32(&out, (uint32_t{s.flags} << 24) | (s.id & 0xFFFFFF));
        Put32(&out, s.value);
      }
      return out;
    case FrameType::kPing:
      PutControlHeader(&out, f.type, f.flags, 4);
      Put32(&out, f.ping_id);
      return out;
    case FrameType::kGoAway:
      PutControlHeader(&out, f.type, f.flags, 8);
      Put32(&out, f.stream_id & kMaxStreamId);
      Put32(&out, f.status);
      return out;
    case FrameType::kWindowUpdate:
      PutControlHeader(&out, f.type, f.flags, 8);
      Put32(&out, f.stream_id & kMaxStreamId);
      Put32(&out, f.delta & kMaxWindow);
      return out;
  }
  return out;
}

void AppendDataFrame(std::string* out, uint32_t stream_id, uint8_t flags, std::string_view data) {
  Put32(out, stream_id & kMaxStreamId);
  Put32(out, (uint32_t{flags} << 24) | (static_cast<uint32_t>(data.size()) & kMaxFrameLength));
  out->append(data);
}

std::string EncodeSynStream(uint32_t stream_id, uint8_t flags, std::string_view header_block,
                            uint32_t associated_id, uint8_t priority) {
  Frame f;
  f.type = FrameType::kSynStream;
  f.stream_id = stream_id;
  f.flags = flags;
  f.associated_id = associated_id;
  f.priority = priority;
  f.payload = header_block;
  return EncodeFrame(f);
}

std::string EncodeSynReply(uint32_t stream_id, uint8_t flags, std::string_view header_block) {
  Frame f;
  f.type = FrameType::kSynReply;
  f.stream_id = stream_id;
  f.flags = flags;
  f.payload = header_block;
  return EncodeFrame(f);
}

std::string EncodeHeaders(uint32_t stream_id, uint8_t flags, std::string_view header_block) {
  Frame f;
  f.type = FrameType::kHeaders;
  f.stream_id = stream_id;
  f.flags = flags;
  f.payload = header_block;
  return EncodeFrame(f);
}

std::string EncodeRstStream(uint32_t stream_id, uint32_t status) {
  Frame f;
  f.type = FrameType::kRstStream;
  f.stream_id = stream_id;
  f.status = status;
  return EncodeFrame(f);
}

std::string EncodeSettings(const std::vector<Setting>& settings, uint8_t flags) {
  Frame f;
  f.type = FrameType::kSettings;
  f.flags = flags;
  f.settings = settings;
  return EncodeFrame(f);
}

std::string EncodePing(uint32_t id) {
  Frame f;
  f.type = FrameType::kPing;
  f.ping_id = id;
  return EncodeFrame(f);
}

std::string EncodeGoAway(uint32_t last_good_stream_id, uint32_t status) {
  Frame f;
  f.type = FrameType::kGoAway;
  f.stream_id = last_good_stream_id;
  f.status = status;
  return EncodeFrame(f);
}

std::string EncodeWindowUpdate(uint32_t stream_id, uint32_t delta) {
  Frame f;
  f.type = FrameType::kWindowUpdate;
  f.stream_id = stream_id;
  f.delta = delta;
  return EncodeFrame(f);
}

std::string EncodeData(uint32_t stream_id, uint8_t flags, std::string_view data) {
  std::string out;
  AppendDataFrame(&out, stream_id, flags, data);
  return out;
}

}  // namespace berth::streaming::spdy
