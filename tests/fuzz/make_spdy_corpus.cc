// Writes the seed corpus of spdy_frame_fuzz (tests/fuzz/corpus/spdy_frame) with the real
// encoder and compressor: valid frames of every type, a session-like sequence sharing one
// zlib context, and the classic malformations. Run: make_spdy_corpus DIR. Each file starts
// with the fuzz target's split byte.
#include <cstdio>
#include <fstream>
#include <string>

#include "cri/streaming/spdy/frame.h"
#include "cri/streaming/spdy/header_block.h"

using namespace berth::streaming::spdy;

namespace {

void Write(const std::string& dir, const std::string& name, char split, const std::string& bytes) {
  std::ofstream out(dir + "/" + name, std::ios::binary | std::ios::trunc);
  out.put(split);
  out << bytes;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    (void)std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  std::string dir = argv[1];
  HeaderCompressor c;
  Headers exec{{"streamtype", "stdout"}};
  Headers pf{{"streamtype", "data"}, {"port", "8080"}, {"requestid", "0"}};
  std::string syn = EncodeSynStream(1, 0, c.Compress(exec).value());
  Write(dir, "syn_stream", 63, syn);
  // Each file is a session of its own: a fresh compression context per header frame.
  HeaderCompressor c2, c3;
  Write(dir, "syn_reply", 63, EncodeSynReply(1, 0, c2.Compress({}).value()));
  Write(dir, "headers", 63, EncodeHeaders(1, kFlagFin, c3.Compress(pf).value()));
  Write(dir, "rst_stream", 63, EncodeRstStream(1, kRstCancel));
  Write(dir, "settings", 63,
        EncodeSettings({{0, kSettingsInitialWindowSize, 1 << 20}, {1, 4, 100}}));
  Write(dir, "ping", 63, EncodePing(1));
  Write(dir, "goaway", 63, EncodeGoAway(3, kGoAwayOk));
  Write(dir, "window_update", 63, EncodeWindowUpdate(0, 1 << 20));
  Write(dir, "data", 63, EncodeData(1, kFlagFin, "hello, world\n"));

  HeaderCompressor s;
  std::string session = EncodeSettings({{0, kSettingsInitialWindowSize, 65536}}) +
                        EncodeSynStream(1, 0, s.Compress({{"streamtype", "error"}}).value()) +
                        EncodeSynStream(3, 0, s.Compress({{"streamtype", "stdin"}}).value()) +
                        EncodeSynStream(5, 0, s.Compress(exec).value()) +
                        EncodeData(3, 0, "ls -l\n") + EncodeData(3, kFlagFin, "") +
                        EncodeWindowUpdate(5, 4096) + EncodePing(3) + EncodeGoAway(5, 0);
  Write(dir, "session_sequence", 5, session);

  Write(dir, "truncated_syn_stream", 7, syn.substr(0, syn.size() - 3));
  std::string oversized = EncodePing(1);
  oversized[5] = '\x7f';  // length 0x7f0004
  Write(dir, "oversized_length", 63, oversized);
  std::string bad_version = EncodePing(1);
  bad_version[1] = 2;
  Write(dir, "bad_version", 63, bad_version);
  Write(dir, "bad_compression", 63, EncodeSynStream(1, 0, "\x78\xbb\xe3\xc6\xa7\xc2garbage!!"));
  std::string bomb_block = std::string("\0\0\0\1\0\0\0\1a\0\1\0\0", 13) + std::string(65536, 'z');
  HeaderCompressor b;
  Write(dir, "zip_bomb", 63, EncodeSynStream(1, 0, b.CompressRaw(bomb_block).value()));
  std::string lie = EncodeSettings({{0, 7, 1}});
  lie[11] = 9;
  Write(dir, "settings_count_lie", 63, lie);
  Write(dir, "window_delta_zero", 63, EncodeWindowUpdate(1, 0));
  Write(dir, "data_stream_zero", 63, EncodeData(0, 0, "x"));
  Write(dir, "raw_header_block", 63, EncodeHeaderBlock(pf));
  return 0;
}
