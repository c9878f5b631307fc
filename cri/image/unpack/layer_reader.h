#pragma once
// LayerReader: the decompressed tar stream of a layer blob, hashed as it is read.
//
// Decompression is ours (zlib / libzstd), not libarchive's, so that every byte of the
// uncompressed tar passes through one SHA-256: after the reader has returned end of stream,
// DiffId() is the OCI diff_id ("sha256:<hex>") to compare with the image config's
// rootfs.diff_ids, without a second pass over the blob.
//
// Compression is detected from the first bytes (gzip 1f8b, zstd 28b52ffd, else plain tar). A
// media type, when given, must be a known layer type (OCI or Docker); when it disagrees with the
// magic bytes the bytes win (registries are known to mislabel) and media_type_mismatch() is set
// so that the caller can warn.
//
// Threads: one reader is used by one thread at a time. The fd is borrowed, read sequentially
// from its current offset, and never closed here.
// Errors: INVALID_ARGUMENT for an unknown media type; DATA_LOSS for corrupt or truncated
// compressed data (including a gzip CRC mismatch); INTERNAL for read errors.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace berth {

enum class Compression { kNone, kGzip, kZstd };

std::string_view CompressionName(Compression c);

// The compression a layer media type declares; nullopt for an empty media type; INVALID_ARGUMENT
// for media types that are not (supported) layers.
Result<std::optional<Compression>> CompressionForMediaType(std::string_view media_type);

class LayerReader {
 public:
  static Result<std::unique_ptr<LayerReader>> Create(int fd, std::string_view media_type);
  virtual ~LayerReader();

  // Reads up to `n` uncompressed bytes into `buf`; 0 means the end of the stream.
  virtual Result<size_t> Read(char* buf, size_t n) = 0;

  Compression compression() const { return compression_; }
  bool media_type_mismatch() const { return mismatch_; }
  uint64_t uncompressed_bytes() const { return total_; }
  // "sha256:<hex>" of everything Read() returned; meaningful once Read() returned 0.
  std::string DiffId() const;

 protected:
  LayerReader(int fd, Compression c);
  // Refills the compressed input buffer; false at end of file.
  Result<bool> FillInput();
  void Hash(const char* data, size_t n);

  int fd_;
  Compression compression_;
  bool mismatch_ = false;
  uint64_t total_ = 0;
  std::vector<unsigned char> in_;
  size_t in_pos_ = 0;
  size_t in_len_ = 0;
  bool in_eof_ = false;

 private:
  struct HashState;
  std::unique_ptr<HashState> hash_;
};

}  // namespace berth
