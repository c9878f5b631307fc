#pragma once
// SPDY/3 name/value header blocks (draft-mbelshe-httpbis-spdy-00 §2.6.10):
//   count(32) { name-len(32) name value-len(32) value }*
// compressed with zlib seeded with the SPDY/3 dictionary (§2.6.10.1). The compression context
// lives for the whole session, one per direction: every block is a Z_SYNC_FLUSH'd piece of
// one zlib stream, so blocks must be compressed/decompressed in wire order.
//
// Threads: a HeaderCompressor / HeaderDecompressor is used by one thread at a time (the
// session serialises it with the order frames go out / come in).

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace berth::streaming::spdy {

// Same alias as session.h: names lower-case; several values of one name joined by NUL.
using Headers = std::map<std::string, std::string>;

// The SPDY/3 zlib dictionary (1423 bytes, Adler-32 0xe3c6a7c2): a protocol constant.
std::string_view SpdyDictionary();

// Caps applied when decoding untrusted blocks.
inline constexpr size_t kMaxDecompressedHeaderBlock = 1024 * 1024;

// The uncompressed block. Encode does not validate (tests feed invalid blocks through it).
std::string EncodeHeaderBlock(const Headers& headers);
// INVALID_ARGUMENT when the block is malformed: counts or lengths past the end, bytes left
// over, empty or duplicate names, names with upper-case letters.
Result<Headers> DecodeHeaderBlock(std::string_view block);
// INVALID_ARGUMENT for what a peer must not receive from us: empty or non-lower-case names.
Status ValidateHeaders(const Headers& headers);

class HeaderCompressor {
 public:
  HeaderCompressor();
  ~HeaderCompressor();
  HeaderCompressor(const HeaderCompressor&) = delete;
  HeaderCompressor& operator=(const HeaderCompressor&) = delete;

  // The compressed block for a frame (ends at a sync-flush point). INTERNAL on zlib failure.
  Result<std::string> Compress(const Headers& headers);
  Result<std::string> CompressRaw(std::string_view block);

 private:
  struct Z;
  std::unique_ptr<Z> z_;
};

class HeaderDecompressor {
 public:
  explicit HeaderDecompressor(size_t max_output = kMaxDecompressedHeaderBlock);
  ~HeaderDecompressor();
  HeaderDecompressor(const HeaderDecompressor&) = delete;
  HeaderDecompressor& operator=(const HeaderDecompressor&) = delete;

  // Inflates one frame's block. DATA_LOSS when the zlib stream is broken or the output passes
  // the cap: the context is then out of step with the peer's and every later call fails too
  // (the session must end). INVALID_ARGUMENT from DecodeHeaderBlock leaves the context usable
  // (only that stream is bad).
  Result<Headers> Decompress(std::string_view compressed);
  // Inflate only (no block parsing); same DATA_LOSS rules.
  Result<std::string> Inflate(std::string_view compressed);

 private:
  struct Z;
  std::unique_ptr<Z> z_;
  size_t max_output_;
};

}  // namespace berth::streaming::spdy
