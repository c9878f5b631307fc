// LayerReader implementations: plain, gzip (zlib, multi-member) and zstd (multi-frame).

#include "cri/image/unpack/layer_reader.h"

#include <errno.h>
#include <openssl/evp.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <cstring>

namespace berth {
namespace {

constexpr size_t kInputBuffer = 128 * 1024;

Compression Sniff(const unsigned char* p, size_t n) {
  if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b) return Compression::kGzip;
  if (n >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd) {
    return Compression::kZstd;
  }
  return Compression::kNone;
}

class PlainReader : public LayerReader {
 public:
  PlainReader(int fd, Compression c) : LayerReader(fd, c) {}
  Result<size_t> Read(char* buf, size_t n) override {
    if (in_pos_ == in_len_) {
      Result<bool> more = FillInput();
      if (!more.ok()) return more.status();
      if (!*more) return size_t{0};
    }
    size_t k = std::min(n, in_len_ - in_pos_);
    memcpy(buf, in_.data() + in_pos_, k);
    in_pos_ += k;
    Hash(buf, k);
    return k;
  }
};

class GzipReader : public LayerReader {
 public:
  GzipReader(int fd, Compression c) : LayerReader(fd, c) {}
  ~GzipReader() override {
    if (init_) inflateEnd(&zs_);
  }
  Result<size_t> Read(char* buf, size_t n) override {
    if (!init_) {
      if (inflateInit2(&zs_, 16 + MAX_WBITS) != Z_OK) return Internal("inflateInit2 failed");
      init_ = true;
    }
    while (!done_) {
      if (in_pos_ == in_len_) {
        Result<bool> more = FillInput();
        if (!more.ok()) return more.status();
        if (!*more) {
          if (member_ended_) {
            done_ = true;
            break;
          }
          return Status(StatusCode::kDataLoss, "gzip layer is truncated");
        }
      }
      if (member_ended_) {  // more input after a complete member: another gzip member follows
        inflateReset(&zs_);
        member_ended_ = false;
      }
      zs_.next_in = in_.data() + in_pos_;
      zs_.avail_in = static_cast<uInt>(in_len_ - in_pos_);
      zs_.next_out = reinterpret_cast<Bytef*>(buf);
      zs_.avail_out = static_cast<uInt>(n);
      int rc = inflate(&zs_, Z_NO_FLUSH);
      in_pos_ = in_len_ - zs_.avail_in;
      size_t produced = n - zs_.avail_out;
      if (rc == Z_STREAM_END) {
        member_ended_ = true;
      } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        return Status(StatusCode::kDataLoss,
                      std::string("corrupt gzip layer: ") + (zs_.msg ? zs_.msg : "inflate failed"));
      }
      if (produced > 0) {
        Hash(buf, produced);
        return produced;
      }
    }
    return size_t{0};
  }

 private:
  z_stream zs_{};
  bool init_ = false;
  bool member_ended_ = false;
  bool done_ = false;
};

class ZstdReader : public LayerReader {
 public:
  ZstdReader(int fd, Compression c) : LayerReader(fd, c), ds_(ZSTD_createDStream()) {}
  ~ZstdReader() override { ZSTD_freeDStream(ds_); }
  Result<size_t> Read(char* buf, size_t n) override {
    if (ds_ == nullptr) return Internal("ZSTD_createDStream failed");
    while (true) {
      if (in_pos_ == in_len_ && !pending_out_) {
        Result<bool> more = FillInput();
        if (!more.ok()) return more.status();
        if (!*more) {
          if (last_ret_ != 0) return Status(StatusCode::kDataLoss, "zstd layer is truncated");
          return size_t{0};
        }
      }
      ZSTD_inBuffer in{in_.data(), in_len_, in_pos_};
      ZSTD_outBuffer out{buf, n, 0};
      size_t ret = ZSTD_decompressStream(ds_, &out, &in);
      if (ZSTD_isError(ret)) {
        return Status(StatusCode::kDataLoss,
                      std::string("corrupt zstd layer: ") + ZSTD_getErrorName(ret));
      }
      in_pos_ = in.pos;
      last_ret_ = ret;
      // A full output buffer may leave decoded data inside the stream; call again before
      // asking for more input.
      pending_out_ = out.pos == n;
      if (out.pos > 0) {
        Hash(buf, out.pos);
        return out.pos;
      }
    }
  }

 private:
  ZSTD_DStream* ds_;
  size_t last_ret_ = 0;
  bool pending_out_ = false;
};

}  // namespace

struct LayerReader::HashState {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~HashState() { EVP_MD_CTX_free(ctx); }
};

std::string_view CompressionName(Compression c) {
  switch (c) {
    case Compression::kNone:
      return "none";
    case Compression::kGzip:
      return "gzip";
    case Compression::kZstd:
      return "zstd";
  }
  return "unknown";
}

Result<std::optional<Compression>> CompressionForMediaType(std::string_view mt) {
  if (mt.empty()) return std::optional<Compression>();
  static constexpr struct {
    std::string_view type;
    Compression c;
  } kTypes[] = {
      {"application/vnd.oci.image.layer.v1.tar", Compression::kNone},
      {"application/vnd.oci.image.layer.v1.tar+gzip", Compression::kGzip},
      {"application/vnd.oci.image.layer.v1.tar+zstd", Compression::kZstd},
      {"application/vnd.oci.image.layer.nondistributable.v1.tar", Compression::kNone},
      {"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", Compression::kGzip},
      {"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", Compression::kZstd},
      {"application/vnd.docker.image.rootfs.diff.tar", Compression::kNone},
      {"application/vnd.docker.image.rootfs.diff.tar.gzip", Compression::kGzip},
      {"application/vnd.docker.image.rootfs.diff.tar.zstd", Compression::kZstd},
      {"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", Compression::kGzip},
  };
  for (const auto& t : kTypes) {
    if (t.type == mt) return std::optional<Compression>(t.c);
  }
  return InvalidArgument("unsupported layer media type \"" + std::string(mt) + "\"");
}

Result<std::unique_ptr<LayerReader>> LayerReader::Create(int fd, std::string_view media_type) {
  Result<std::optional<Compression>> declared = CompressionForMediaType(media_type);
  if (!declared.ok()) return declared.status();
  // Peek at the magic bytes through a plain reader's buffer, then hand the buffer over.
  PlainReader probe(fd, Compression::kNone);
  while (probe.in_len_ < 4) {
    ssize_t r = read(fd, probe.in_.data() + probe.in_len_, probe.in_.size() - probe.in_len_);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return ErrnoStatus(errno, "read layer");
    if (r == 0) break;
    probe.in_len_ += r;
  }
  Compression c = Sniff(probe.in_.data(), probe.in_len_);
  std::unique_ptr<LayerReader> reader;
  switch (c) {
    case Compression::kNone:
      reader = std::make_unique<PlainReader>(fd, c);
      break;
    case Compression::kGzip:
      reader = std::make_unique<GzipReader>(fd, c);
      break;
    case Compression::kZstd:
      reader = std::make_unique<ZstdReader>(fd, c);
      break;
  }
  reader->in_.swap(probe.in_);
  reader->in_len_ = probe.in_len_;
  reader->in_eof_ = probe.in_len_ < 4;
  reader->mismatch_ = declared->has_value() && **declared != c;
  return reader;
}

LayerReader::LayerReader(int fd, Compression c)
    : fd_(fd), compression_(c), in_(kInputBuffer), hash_(std::make_unique<HashState>()) {
  EVP_DigestInit_ex(hash_->ctx, EVP_sha256(), nullptr);
}

LayerReader::~LayerReader() = default;

Result<bool> LayerReader::FillInput() {
  in_pos_ = in_len_ = 0;
  while (!in_eof_) {
    ssize_t r = read(fd_, in_.data(), in_.size());
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return ErrnoStatus(errno, "read layer");
    if (r == 0) {
      in_eof_ = true;
      break;
    }
    in_len_ = r;
    return true;
  }
  return false;
}

void LayerReader::Hash(const char* data, size_t n) {
  EVP_DigestUpdate(hash_->ctx, data, n);
  total_ += n;
}

std::string LayerReader::DiffId() const {
  EVP_MD_CTX* copy = EVP_MD_CTX_new();
  EVP_MD_CTX_copy_ex(copy, hash_->ctx);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(copy, md, &len);
  EVP_MD_CTX_free(copy);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

}  // namespace berth
