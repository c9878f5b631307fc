#pragma once
// The content store: immutable blobs addressed by digest, under
//   <root>/content/blobs/<algo>/<hex>      committed, verified blobs (read-only files)
//   <root>/content/ingest/<algo>-<hex>     a blob being written, keyed by its expected digest
//
// Contract
// - Nothing unverified is ever visible under blobs/: a Writer hashes while streaming and
//   Commit() checks size and digest, fsyncs, and renames into place (then fsyncs the directory).
//   A mismatch is DATA_LOSS naming expected and actual, and the ingest file is removed.
// - Resumable: an ingest left behind by a transient failure (or a crash) is continued by the
//   next writer for the same digest; its hash state is recomputed from the bytes on disk.
// - Single flight: concurrent Ensure() calls for one digest in this process run `fill` once; the
//   others wait and share the outcome. Across processes an exclusive flock on the ingest file
//   serialises writers.
// - Thread-safe: every method may be called from any thread. Committed blobs never change, so
//   reading them needs no lock; Delete/GarbageCollect of a blob someone is reading is safe
//   (POSIX keeps the open inode).
// - Errors: NOT_FOUND for an absent blob, DATA_LOSS for content that does not match its
//   descriptor, INTERNAL/PERMISSION_DENIED for filesystem failures (with the path).

#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "cri/image/digest.h"

namespace berth::image {

struct BlobInfo {
  Digest digest;
  int64_t size = 0;
};

class ContentStore;

// Writes one blob into its ingest file. Obtained from ContentStore::Ensure (or OpenWriter).
// Not thread-safe; owned by one thread at a time. Destroying an uncommitted Writer closes it and
// keeps the ingest for a later resume; Abort() removes it instead.
class Writer {
 public:
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  const Digest& expected_digest() const { return expected_; }
  int64_t expected_size() const { return expected_size_; }  // -1 when unknown
  // Bytes already written (non-zero when resuming). A fetcher asks for the rest from here.
  int64_t offset() const { return offset_; }

  // Appends `data`. DATA_LOSS when it would exceed the expected size.
  Status Write(std::string_view data);
  // Drops what was written (the source could not resume) and starts over at offset 0.
  Status Reset();
  // Verifies size and digest and moves the blob into place. On mismatch the ingest is removed.
  Status Commit();
  // Removes the ingest file. The Writer is unusable afterwards.
  void Abort();

 private:
  friend class ContentStore;
  Writer(const ContentStore* store, Digest expected, int64_t size, std::string ingest_path, int fd);
  Status Resume();

  const ContentStore* store_;
  Digest expected_;
  int64_t expected_size_;
  std::string ingest_path_;
  int fd_;
  int64_t offset_ = 0;
  Hasher hasher_;
  bool done_ = false;
};

class ContentStore {
 public:
  // Creates <root>/content/{blobs,ingest} as needed (mode 0700).
  static Result<std::unique_ptr<ContentStore>> Open(const std::string& root);

  const std::string& root() const { return root_; }
  std::string BlobPath(const Digest& d) const;
  std::string IngestPath(const Digest& d) const;

  bool Has(const Digest& d) const;
  Result<BlobInfo> Info(const Digest& d) const;
  // The whole blob; RESOURCE_EXHAUSTED when it is larger than `max_size`.
  Result<std::string> ReadAll(const Digest& d, int64_t max_size = int64_t{64} << 20) const;
  Status Delete(const Digest& d);  // NOT_FOUND when absent
  Result<std::vector<BlobInfo>> List() const;

  enum class EnsureOutcome { kAlreadyPresent, kWritten, kWaitedForOther };
  using Fill = std::function<Status(Writer&)>;
  // Makes sure the blob `digest` (of `size` bytes, -1 if unknown) is committed. If it is absent
  // and no one else in this process is writing it, opens a Writer (resuming any ingest) and
  // calls `fill`, which writes the bytes from writer.offset() on; Ensure then commits. If
  // another thread is already writing it, waits for that and returns its outcome. On failure
  // the ingest is kept only when the error is transient (UNAVAILABLE, DEADLINE_EXCEEDED,
  // CANCELLED) and some bytes arrived, so a retry resumes; otherwise it is removed.
  Result<EnsureOutcome> Ensure(const Digest& digest, int64_t size, const Fill& fill);

  // Stores a small blob held in memory (manifests, configs) after verifying it.
  Status Put(const Digest& digest, std::string_view data);

  // Opens a Writer directly (blocking on another process's flock). Prefer Ensure, which also
  // coordinates threads of this process.
  Result<std::unique_ptr<Writer>> OpenWriter(const Digest& digest, int64_t size);

  struct GcStats {
    int blobs_removed = 0;
    int64_t bytes_removed = 0;
    int ingests_removed = 0;
  };
  // Removes every blob not in `keep` and every ingest no writer holds. Blobs being written
  // right now (in flight) are kept.
  Result<GcStats> GarbageCollect(const std::set<Digest>& keep);

 private:
  explicit ContentStore(std::string root) : root_(std::move(root)) {}
  Status CommitIngest(Writer& w) const;

  struct InFlight {
    bool done = false;
    Status status;
    std::condition_variable cv;
  };

  std::string root_;
  std::mutex mu_;
  std::map<Digest, std::shared_ptr<InFlight>> in_flight_;  // guarded by mu_
  friend class Writer;
};

}  // namespace berth::image
