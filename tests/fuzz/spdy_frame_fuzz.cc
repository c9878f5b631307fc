// Fuzz target: the SPDY/3 frame parser and the zlib header-block decoder, which see every byte
// a streaming client sends before anything else does. Input is split into pieces (sizes from
// the first byte) to exercise incremental parsing; each frame is re-encoded and must parse back
// to itself; header blocks go through one decompressor, as in a session.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cri/streaming/spdy/frame.h"
#include "cri/streaming/spdy/header_block.h"

namespace {

using berth::streaming::spdy::EncodeFrame;
using berth::streaming::spdy::Frame;
using berth::streaming::spdy::FrameParser;
using berth::streaming::spdy::FrameType;
using berth::streaming::spdy::HeaderDecompressor;
using berth::streaming::spdy::ParserLimits;

bool SameFrame(const Frame& a, const Frame& b) {
  if (a.settings.size() != b.settings.size()) return false;
  for (size_t i = 0; i < a.settings.size(); ++i) {
    if (a.settings[i].flags != b.settings[i].flags || a.settings[i].id != b.settings[i].id ||
        a.settings[i].value != b.settings[i].value)
      return false;
  }
  return a.type == b.type && a.flags == b.flags && a.stream_id == b.stream_id &&
         a.associated_id == b.associated_id && a.priority == b.priority && a.slot == b.slot &&
         a.status == b.status && a.ping_id == b.ping_id && a.delta == b.delta &&
         a.payload == b.payload;
}

void CheckRoundTrip(const Frame& f) {
  FrameParser again;
  again.Append(EncodeFrame(f));
  auto r = again.Next();
  if (!r.ok() || !r->has_value() || !SameFrame(**r, f) || again.buffered() != 0) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t piece = 1 + data[0] % 64;
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  // Small caps so "over the cap" paths are reachable with small inputs.
  ParserLimits limits;
  limits.max_data_length = 4096;
  limits.max_control_length = 8192;
  FrameParser parser(limits);
  HeaderDecompressor headers(size_t{64} * 1024);
  for (size_t off = 0; off < in.size(); off += piece) {
    parser.Append(in.substr(off, piece));
    for (;;) {
      auto r = parser.Next();
      if (!r.ok()) return 0;
      if (!r->has_value()) break;
      const Frame& f = **r;
      CheckRoundTrip(f);
      if (f.type == FrameType::kSynStream || f.type == FrameType::kSynReply ||
          f.type == FrameType::kHeaders) {
        (void)headers.Decompress(f.payload);
      }
    }
  }
  // The whole input as one raw (uncompressed) block too.
  (void)berth::streaming::spdy::DecodeHeaderBlock(in);
  return 0;
}
