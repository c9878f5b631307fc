#include "cri/image/content_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "common/fs.h"

namespace berth::image {
namespace {

Status FsyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "open directory " + dir);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return ErrnoStatus(err, "fsync directory " + dir);
  return OkStatus();
}

bool Transient(const Status& s) {
  return s.code() == StatusCode::kUnavailable || s.code() == StatusCode::kDeadlineExceeded ||
         s.code() == StatusCode::kCancelled;
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(n);
  }
  ::closedir(d);
  return out;
}

}  // namespace

// ---- Writer -------------------------------------------------------------------------------------

Writer::Writer(const ContentStore* store, Digest expected, int64_t size, std::string ingest_path,
               int fd)
    : store_(store),
      expected_(std::move(expected)),
      expected_size_(size),
      ingest_path_(std::move(ingest_path)),
      fd_(fd),
      hasher_(expected_.algorithm()) {}

Writer::~Writer() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock; the ingest stays for a resume
}

Status Writer::Resume() {
  // Re-hash what an earlier writer left, so the digest check at commit covers every byte.
  struct stat st;
  if (::fstat(fd_, &st) != 0) return ErrnoStatus(errno, "stat " + ingest_path_);
  if (expected_size_ >= 0 && st.st_size > expected_size_) return Reset();
  char buf[1 << 16];
  int64_t off = 0;
  while (off < st.st_size) {
    ssize_t n = ::pread(fd_, buf, sizeof buf, off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "read " + ingest_path_);
    }
    if (n == 0) break;
    hasher_.Update(std::string_view(buf, static_cast<size_t>(n)));
    off += n;
  }
  offset_ = off;
  if (::ftruncate(fd_, off) != 0) return ErrnoStatus(errno, "truncate " + ingest_path_);
  return OkStatus();
}

Status Writer::Write(std::string_view data) {
  if (done_) return FailedPrecondition("write to a finished writer for " + expected_.String());
  if (expected_size_ >= 0 && offset_ + static_cast<int64_t>(data.size()) > expected_size_) {
    return Status(StatusCode::kDataLoss, "blob " + expected_.String() +
                                             ": more data than the expected " +
                                             std::to_string(expected_size_) + " bytes");
  }
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n =
        ::pwrite(fd_, data.data() + done, data.size() - done, offset_ + static_cast<int64_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "write " + ingest_path_);
    }
    done += static_cast<size_t>(n);
  }
  hasher_.Update(data);
  offset_ += static_cast<int64_t>(data.size());
  return OkStatus();
}

Status Writer::Reset() {
  if (::ftruncate(fd_, 0) != 0) return ErrnoStatus(errno, "truncate " + ingest_path_);
  hasher_.Reset();
  offset_ = 0;
  return OkStatus();
}

void Writer::Abort() {
  if (done_) return;
  done_ = true;
  ::unlink(ingest_path_.c_str());
  ::close(fd_);
  fd_ = -1;
}

Status Writer::Commit() {
  if (done_) return FailedPrecondition("commit of a finished writer for " + expected_.String());
  Digest actual = hasher_.Current();
  if ((expected_size_ >= 0 && offset_ != expected_size_) || actual != expected_) {
    Abort();
    return Status(StatusCode::kDataLoss,
                  "blob " + expected_.String() + " failed verification: expected " +
                      std::to_string(expected_size_) + " bytes with digest " + expected_.String() +
                      ", got " + std::to_string(offset_) + " bytes with digest " + actual.String());
  }
  if (::fsync(fd_) != 0) return ErrnoStatus(errno, "fsync " + ingest_path_);
  if (::fchmod(fd_, 0444) != 0) return ErrnoStatus(errno, "chmod " + ingest_path_);
  std::string dst = store_->BlobPath(expected_);
  if (::rename(ingest_path_.c_str(), dst.c_str()) != 0) {
    return ErrnoStatus(errno, "rename " + ingest_path_ + " to " + dst);
  }
  done_ = true;
  ::close(fd_);
  fd_ = -1;
  return FsyncDir(dst.substr(0, dst.rfind('/')));
}

// ---- ContentStore -------------------------------------------------------------------------------

Result<std::unique_ptr<ContentStore>> ContentStore::Open(const std::string& root) {
  for (const char* sub : {"/content/blobs/sha256", "/content/blobs/sha512", "/content/ingest"}) {
    BERTH_RETURN_IF_ERROR(MakeDirs(root + sub, 0700).Wrap("open content store"));
  }
  return std::unique_ptr<ContentStore>(new ContentStore(root));
}

std::string ContentStore::BlobPath(const Digest& d) const {
  return root_ + "/content/blobs/" + std::string(d.algorithm_name()) + "/" + d.hex();
}

std::string ContentStore::IngestPath(const Digest& d) const {
  return root_ + "/content/ingest/" + std::string(d.algorithm_name()) + "-" + d.hex();
}

bool ContentStore::Has(const Digest& d) const {
  struct stat st;
  return d.valid() && ::stat(BlobPath(d).c_str(), &st) == 0;
}

Result<BlobInfo> ContentStore::Info(const Digest& d) const {
  struct stat st;
  if (::stat(BlobPath(d).c_str(), &st) != 0) {
    if (errno == ENOENT) return NotFound("blob " + d.String() + " not found in content store");
    return ErrnoStatus(errno, "stat " + BlobPath(d));
  }
  return BlobInfo{d, st.st_size};
}

Result<std::string> ContentStore::ReadAll(const Digest& d, int64_t max_size) const {
  auto info = Info(d);
  if (!info.ok()) return info.status();
  if (info->size > max_size) {
    return Status(StatusCode::kResourceExhausted,
                  "blob " + d.String() + " is " + std::to_string(info->size) +
                      " bytes, more than the " + std::to_string(max_size) + " allowed here");
  }
  return ReadFile(BlobPath(d));
}

Status ContentStore::Delete(const Digest& d) {
  if (::unlink(BlobPath(d).c_str()) != 0) {
    if (errno == ENOENT) return NotFound("blob " + d.String() + " not found in content store");
    return ErrnoStatus(errno, "remove " + BlobPath(d));
  }
  return OkStatus();
}

Result<std::vector<BlobInfo>> ContentStore::List() const {
  std::vector<BlobInfo> out;
  for (std::string algo : {"sha256", "sha512"}) {
    for (const std::string& name : ListDir(root_ + "/content/blobs/" + algo)) {
      auto d = Digest::Parse(algo + ":" + name);
      if (!d.ok()) continue;  // not ours (editor droppings); GC leaves it alone too
      auto info = Info(*d);
      if (info.ok()) out.push_back(*info);
    }
  }
  return out;
}

Result<std::unique_ptr<Writer>> ContentStore::OpenWriter(const Digest& digest, int64_t size) {
  if (!digest.valid()) return InvalidArgument("content writer needs a valid digest");
  std::string path = IngestPath(digest);
  for (;;) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return ErrnoStatus(errno, "open ingest " + path);
    if (::flock(fd, LOCK_EX) != 0) {
      int err = errno;
      ::close(fd);
      return ErrnoStatus(err, "lock ingest " + path);
    }
    // Another process may have committed (renamed) or aborted (unlinked) the file we opened
    // while we waited for its lock; then start again with a fresh file.
    struct stat a, b;
    if (::fstat(fd, &a) != 0 || ::stat(path.c_str(), &b) != 0 || a.st_ino != b.st_ino ||
        a.st_dev != b.st_dev) {
      ::close(fd);
      continue;
    }
    std::unique_ptr<Writer> w(new Writer(this, digest, size, path, fd));
    BERTH_RETURN_IF_ERROR(w->Resume());
    return w;
  }
}

Status ContentStore::Put(const Digest& digest, std::string_view data) {
  auto r = Ensure(digest, static_cast<int64_t>(data.size()), [&](Writer& w) {
    BERTH_RETURN_IF_ERROR(w.Reset());
    return w.Write(data);
  });
  return r.status();
}

Result<ContentStore::EnsureOutcome> ContentStore::Ensure(const Digest& digest, int64_t size,
                                                         const Fill& fill) {
  std::shared_ptr<InFlight> flight;
  {
    std::unique_lock lock(mu_);
    for (;;) {
      auto it = in_flight_.find(digest);
      if (it == in_flight_.end()) break;
      std::shared_ptr<InFlight> other = it->second;
      other->cv.wait(lock, [&] { return other->done; });
      if (!other->status.ok()) return other->status;
      return EnsureOutcome::kWaitedForOther;
    }
    if (auto info = Info(digest); info.ok()) {
      if (size >= 0 && info->size != size) {
        return Status(StatusCode::kDataLoss,
                      "blob " + digest.String() + " is stored with " + std::to_string(info->size) +
                          " bytes but the descriptor says " + std::to_string(size));
      }
      return EnsureOutcome::kAlreadyPresent;
    }
    flight = std::make_shared<InFlight>();
    in_flight_[digest] = flight;
  }

  Status st;
  EnsureOutcome outcome = EnsureOutcome::kWritten;
  auto w = OpenWriter(digest, size);
  if (!w.ok()) {
    st = w.status();
  } else if (Has(digest)) {
    // Another process committed it while we waited for the ingest lock.
    (*w)->Abort();
    outcome = EnsureOutcome::kAlreadyPresent;
  } else {
    st = fill(**w);
    if (st.ok()) st = (*w)->Commit();  // removes the ingest itself on mismatch
    // Keep partial data only when it is worth resuming: a transient error after some bytes.
    if (!st.ok() && (!Transient(st) || (*w)->offset() == 0)) (*w)->Abort();
  }

  std::lock_guard lock(mu_);
  flight->done = true;
  flight->status = st;
  in_flight_.erase(digest);
  flight->cv.notify_all();
  if (!st.ok()) return st;
  return outcome;
}

Result<ContentStore::GcStats> ContentStore::GarbageCollect(const std::set<Digest>& keep) {
  GcStats stats;
  auto blobs = List();
  if (!blobs.ok()) return blobs.status();
  std::lock_guard lock(mu_);
  for (const BlobInfo& b : *blobs) {
    if (keep.count(b.digest) || in_flight_.count(b.digest)) continue;
    if (::unlink(BlobPath(b.digest).c_str()) == 0) {
      ++stats.blobs_removed;
      stats.bytes_removed += b.size;
    } else if (errno != ENOENT) {
      return ErrnoStatus(errno, "garbage-collect " + BlobPath(b.digest));
    }
  }
  std::string ingest_dir = root_ + "/content/ingest/";
  for (const std::string& name : ListDir(ingest_dir)) {
    std::string path = ingest_dir + name;
    // A writer in any process holds the flock; only unlocked ingests are stale.
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
      if (::unlink(path.c_str()) == 0) ++stats.ingests_removed;
    }
    ::close(fd);
  }
  return stats;
}

}  // namespace berth::image
