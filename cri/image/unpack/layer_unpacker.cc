// UnpackLayer: LayerReader (decompress + diff_id) → libarchive (tar parsing only) →
// EntryWriter (every filesystem change, through the SafeRoot).

#include "cri/image/unpack/layer_unpacker.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>

#include <memory>
#include <vector>

#include "common/unique_fd.h"
#include "cri/image/unpack/entry_writer.h"

namespace berth {
namespace {

// What libarchive's read callback pulls from: the decompressed, hashed stream.
struct Source {
  explicit Source(LayerReader* r) : reader(r) {}
  LayerReader* reader;
  std::vector<char> buf = std::vector<char>(128 * 1024);
  Status error;
};

la_ssize_t ReadCallback(struct archive* a, void* client, const void** out) {
  auto* src = static_cast<Source*>(client);
  Result<size_t> n = src->reader->Read(src->buf.data(), src->buf.size());
  if (!n.ok()) {
    src->error = n.status();
    archive_set_error(a, EIO, "%s", src->error.message().c_str());
    return -1;
  }
  *out = src->buf.data();
  return static_cast<la_ssize_t>(*n);
}

struct ArchiveDeleter {
  void operator()(struct archive* a) const { archive_read_free(a); }
};

Status TarError(struct archive* a, const Source& src, std::string_view what) {
  if (!src.error.ok()) return src.error;
  const char* msg = archive_error_string(a);
  return Status(StatusCode::kDataLoss,
                std::string(what) + ": " + (msg != nullptr ? msg : "malformed tar"));
}

}  // namespace

Result<UnpackStats> UnpackLayer(int blob_fd, const std::string& target_dir,
                                const UnpackOptions& options, const Logger& log) {
  Result<SafeRoot> root = SafeRoot::Open(target_dir, options.resolver);
  if (!root.ok()) return root.status();
  Result<std::unique_ptr<LayerReader>> reader = LayerReader::Create(blob_fd, options.media_type);
  if (!reader.ok()) return reader.status();
  LayerReader& r = **reader;
  if (r.media_type_mismatch()) {
    log.Warn("layer media type disagrees with its content; using the content",
             {{"media_type", options.media_type},
              {"detected", std::string(CompressionName(r.compression()))}});
  }

  std::unique_ptr<struct archive, ArchiveDeleter> a(archive_read_new());
  if (!a) return Internal("archive_read_new failed");
  // Only tar (ustar, pax, GNU): we decompress ourselves, so no filter but "none".
  archive_read_support_format_tar(a.get());
  archive_read_support_filter_none(a.get());
  Source src(&r);
  if (archive_read_open(a.get(), &src, nullptr, ReadCallback, nullptr) != ARCHIVE_OK) {
    return TarError(a.get(), src, "open layer tar");
  }

  UnpackStats stats;
  stats.compression = r.compression();
  EntryWriter writer(&*root, options, log, &stats);
  while (true) {
    struct archive_entry* e = nullptr;
    int rc = archive_read_next_header(a.get(), &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) return TarError(a.get(), src, "read layer tar");
    if (rc == ARCHIVE_WARN) {
      const char* msg = archive_error_string(a.get());
      log.Warn("layer tar warning", {{"msg", msg != nullptr ? msg : ""}});
    }
    BERTH_RETURN_IF_ERROR(writer.Apply(a.get(), e));
  }
  BERTH_RETURN_IF_ERROR(writer.Finish());

  // libarchive stops at the end-of-archive marker; the diff_id covers the whole stream,
  // padding included, so read (and hash) the rest.
  for (;;) {
    Result<size_t> n = r.Read(src.buf.data(), src.buf.size());
    if (!n.ok()) return n.status();
    if (*n == 0) break;
  }
  stats.tar_bytes = r.uncompressed_bytes();
  stats.diff_id = r.DiffId();
  return stats;
}

Result<UnpackStats> UnpackLayerFile(const std::string& blob_path, const std::string& target_dir,
                                    const UnpackOptions& options, const Logger& log) {
  UniqueFd fd(open(blob_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return ErrnoStatus(errno, "open layer " + blob_path);
  Result<UnpackStats> s = UnpackLayer(fd.get(), target_dir, options, log);
  if (!s.ok()) return s.status().Wrap("unpack " + blob_path);
  return s;
}

}  // namespace berth
