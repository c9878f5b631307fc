#pragma once
// SPDY/3 (and 3.1) frame codec: bytes <-> Frame, no I/O, no compression (header blocks stay
// compressed here; header_block.h inflates them). This is what the fuzz target drives: the
// parser takes untrusted bytes in arbitrary pieces and never reads outside what it was given.
//
// Wire format (draft-mbelshe-httpbis-spdy-00 §2.2):
//   control: |1|version(15)|type(16)| flags(8) |length(24)| payload
//   data:    |0|stream-id(31)       | flags(8) |length(24)| payload
//
// Threads: a FrameParser is used by one thread at a time; the encoders are pure functions.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace berth::streaming::spdy {

inline constexpr uint16_t kSpdyVersion = 3;
inline constexpr size_t kFrameHeaderSize = 8;
// The 24-bit length field's maximum.
inline constexpr uint32_t kMaxFrameLength = 0xFFFFFF;
// Control frames carry at most a compressed header block; a bigger one is an attack.
inline constexpr uint32_t kDefaultMaxControlFrameLength = 2 * 1024 * 1024;
// Stream ids and window sizes are 31-bit.
inline constexpr uint32_t kMaxStreamId = 0x7FFFFFFF;
inline constexpr uint32_t kMaxWindow = 0x7FFFFFFF;
// Flow-control windows start here for streams (until SETTINGS says otherwise) and for the
// session (SPDY/3.1: only WINDOW_UPDATE on stream 0 changes it).
inline constexpr uint32_t kDefaultWindow = 64 * 1024;

enum class FrameType : uint16_t {
  kData = 0,  // not a control type: marks a DATA frame
  kSynStream = 1,
  kSynReply = 2,
  kRstStream = 3,
  kSettings = 4,
  kPing = 6,
  kGoAway = 7,
  kHeaders = 8,
  kWindowUpdate = 9,
};
std::string_view FrameTypeName(FrameType type);

// Flags (meaning depends on the frame type).
inline constexpr uint8_t kFlagFin = 0x01;             // SYN_STREAM, SYN_REPLY, HEADERS, DATA
inline constexpr uint8_t kFlagUnidirectional = 0x02;  // SYN_STREAM
inline constexpr uint8_t kFlagClearSettings = 0x01;   // SETTINGS

// RST_STREAM status codes.
enum RstStatus : uint32_t {
  kRstProtocolError = 1,
  kRstInvalidStream = 2,
  kRstRefusedStream = 3,
  kRstUnsupportedVersion = 4,
  kRstCancel = 5,
  kRstInternalError = 6,
  kRstFlowControlError = 7,
  kRstStreamInUse = 8,
  kRstStreamAlreadyClosed = 9,
  kRstFrameTooLarge = 11,
};

// GOAWAY status codes.
enum GoAwayStatus : uint32_t {
  kGoAwayOk = 0,
  kGoAwayProtocolError = 1,
  kGoAwayInternalError = 2,
};

// SETTINGS ids we know (the rest are carried but ignored by the session).
inline constexpr uint32_t kSettingsMaxConcurrentStreams = 4;
inline constexpr uint32_t kSettingsInitialWindowSize = 7;

struct Setting {
  uint8_t flags = 0;  // FLAG_SETTINGS_PERSIST_VALUE (1) / PERSISTED (2)
  uint32_t id = 0;    // 24-bit
  uint32_t value = 0;
};

// One frame. Which fields mean something depends on `type`:
//   DATA:          stream_id, flags, payload (the bytes)
//   SYN_STREAM:    stream_id, associated_id, priority (0-7), slot, flags, payload (header block)
//   SYN_REPLY:     stream_id, flags, payload (compressed header block)
//   HEADERS:       stream_id, flags, payload (compressed header block)
//   RST_STREAM:    stream_id, status
//   SETTINGS:      flags, settings
//   PING:          ping_id
//   GOAWAY:        stream_id (last good stream id), status
//   WINDOW_UPDATE: stream_id (0 = the session), delta
struct Frame {
  FrameType type = FrameType::kData;
  uint8_t flags = 0;
  uint32_t stream_id = 0;
  uint32_t associated_id = 0;
  uint8_t priority = 0;
  uint8_t slot = 0;
  uint32_t status = 0;
  uint32_t ping_id = 0;
  uint32_t delta = 0;
  std::vector<Setting> settings;
  std::string payload;
};

struct ParserLimits {
  uint32_t max_data_length = kMaxFrameLength;
  uint32_t max_control_length = kDefaultMaxControlFrameLength;
};

// Incremental parser. Append bytes as they arrive, then call Next until it returns nullopt
// ("need more bytes"). A malformed frame yields INVALID_ARGUMENT (the session answers with
// GOAWAY PROTOCOL_ERROR); the parser then stays failed. Control frames of unknown types (NOOP,
// CREDENTIAL, later extensions) are skipped, as the spec asks. Validation is what the frame
// layout itself demands: version 3, exact lengths of fixed-size frames, length caps, stream id
// 0 where a stream is required, RST status 0, WINDOW_UPDATE delta 0, SETTINGS count vs length.
class FrameParser {
 public:
  explicit FrameParser(ParserLimits limits = {}) : limits_(limits) {}

  void Append(std::string_view bytes);
  // A complete frame, nullopt when more bytes are needed, or the error.
  Result<std::optional<Frame>> Next();
  // Bytes appended but not yet consumed.
  size_t buffered() const { return buf_.size() - pos_; }

 private:
  ParserLimits limits_;
  std::string buf_;
  size_t pos_ = 0;
  Status error_;
};

// Encoders. They write what the Frame says without judging it (tests build invalid frames with
// them); the payload must fit the 24-bit length (callers split DATA; header blocks are capped).
std::string EncodeFrame(const Frame& frame);
// DATA frame appended to `out` without an intermediate Frame (the hot path).
void AppendDataFrame(std::string* out, uint32_t stream_id, uint8_t flags, std::string_view data);

std::string EncodeSynStream(uint32_t stream_id, uint8_t flags, std::string_view header_block,
                            uint32_t associated_id = 0, uint8_t priority = 0);
std::string EncodeSynReply(uint32_t stream_id, uint8_t flags, std::string_view header_block);
std::string EncodeHeaders(uint32_t stream_id, uint8_t flags, std::string_view header_block);
std::string EncodeRstStream(uint32_t stream_id, uint32_t status);
std::string EncodeSettings(const std::vector<Setting>& settings, uint8_t flags = 0);
std::string EncodePing(uint32_t id);
std::string EncodeGoAway(uint32_t last_good_stream_id, uint32_t status);
std::string EncodeWindowUpdate(uint32_t stream_id, uint32_t delta);
std::string EncodeData(uint32_t stream_id, uint8_t flags, std::string_view data);

}  // namespace berth::streaming::spdy
