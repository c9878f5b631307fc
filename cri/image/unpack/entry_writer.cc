// EntryWriter: dispatch per entry type; creation of files, directories, links and nodes.

#include "cri/image/unpack/entry_writer.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cri/image/unpack/entry_path.h"
#include "cri/image/unpack/fs_util.h"

namespace berth {
namespace {

constexpr std::string_view kWhiteoutPrefix = ".wh.";

const char* PathOf(struct archive_entry* e) {
  const char* p = archive_entry_pathname_utf8(e);
  return p != nullptr ? p : archive_entry_pathname(e);
}

}  // namespace

EntryWriter::EntryWriter(const SafeRoot* root, const UnpackOptions& options, const Logger& log,
                         UnpackStats* stats)
    : root_(root), opts_(options), log_(log), stats_(stats) {}

unsigned EntryWriter::SymlinkFlags() const {
  return opts_.follow_symlinks_in_root ? 0u : static_cast<unsigned>(kResolveNoSymlinks);
}

void EntryWriter::MarkWritten(const std::string& path) {
  std::string p = path;
  while (!p.empty() && written_.insert(p).second) {
    size_t slash = p.rfind('/');
    p.resize(slash == std::string::npos ? 0 : slash);
  }
}

Status EntryWriter::Apply(struct archive* a, struct archive_entry* e) {
  ++stats_->entries;
  const char* raw = PathOf(e);
  if (raw == nullptr) {
    return InvalidArgument("entry #" + std::to_string(stats_->entries) + " has no name");
  }
  Result<std::string> clean = CleanEntryPath(raw);
  Status s = clean.ok() ? ApplyClean(a, e, *clean) : clean.status();
  if (!s.ok()) return s.Wrap("entry " + QuoteName(raw));
  return OkStatus();
}

Status EntryWriter::ApplyClean(struct archive* a, struct archive_entry* e,
                               const std::string& path) {
  if (path.empty()) return OkStatus();  // the target itself: the snapshotter owns its metadata
  auto [dir_view, base_view] = SplitDirBase(path);
  std::string dir(dir_view), base(base_view);
  if (base.starts_with(kWhiteoutPrefix)) return ApplyWhiteout(e, dir, base);

  const char* hardlink = archive_entry_hardlink_utf8(e);
  if (hardlink == nullptr) hardlink = archive_entry_hardlink(e);
  mode_t type = hardlink != nullptr ? 0 : archive_entry_filetype(e);
  if (type == AE_IFSOCK) {
    log_.Warn("skipping socket in layer", {{"entry", QuoteName(path)}});
    ++stats_->skipped;
    return OkStatus();
  }
  if (type == AE_IFCHR || type == AE_IFBLK) {
    bool overlay_whiteout =
        type == AE_IFCHR && opts_.whiteouts == WhiteoutMode::kOverlay && archive_entry_rdev(e) == 0;
    if (!overlay_whiteout && opts_.devices == DevicePolicy::kRefuse) {
      return InvalidArgument("device nodes are not allowed in this unpack");
    }
    if (!overlay_whiteout && opts_.devices == DevicePolicy::kSkip) {
      log_.Warn("skipping device node in layer", {{"entry", QuoteName(path)}});
      ++stats_->skipped;
      return OkStatus();
    }
  }
  if (type != 0 && type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK && type != AE_IFCHR &&
      type != AE_IFBLK && type != AE_IFIFO) {
    return InvalidArgument("unsupported entry type " + std::to_string(type));
  }

  Result<UniqueFd> parent = root_->MkdirAll(dir, 0755, SymlinkFlags());
  if (!parent.ok()) return parent.status();
  int dfd = parent->get();
  if (hardlink != nullptr) return WriteHardlink(e, dfd, base, path);

  bool keep_dir = false;
  BERTH_RETURN_IF_ERROR(MakeRoom(dfd, base, type, &keep_dir));
  switch (type) {
    case AE_IFREG:
      return WriteRegular(a, e, dfd, base, path);
    case AE_IFDIR:
      if (!keep_dir && mkdirat(dfd, base.c_str(), 0700) != 0) return ErrnoStatus(errno, "mkdir");
      break;
    case AE_IFLNK: {
      const char* target = archive_entry_symlink_utf8(e);
      if (target == nullptr) target = archive_entry_symlink(e);
      if (target == nullptr || *target == '\0') return InvalidArgument("symlink has no target");
      // Stored verbatim: it is only ever interpreted later, inside the container's root.
      if (symlinkat(target, dfd, base.c_str()) != 0) return ErrnoStatus(errno, "symlink");
      break;
    }
    case AE_IFIFO:
      if (mknodat(dfd, base.c_str(), S_IFIFO | 0600, 0) != 0) return ErrnoStatus(errno, "mkfifo");
      break;
    default:  // AE_IFCHR, AE_IFBLK, allowed above
      BERTH_RETURN_IF_ERROR(WriteDevice(e, dfd, base));
      break;
  }
  MarkWritten(path);
  return ApplyMetadata(e, dfd, base, -1, type, path);
}

Status EntryWriter::MakeRoom(int dir_fd, const std::string& name, mode_t type, bool* keep_dir) {
  struct stat st;
  if (fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return OkStatus();
    return ErrnoStatus(errno, "stat existing");
  }
  if (S_ISDIR(st.st_mode) && type == AE_IFDIR) {
    *keep_dir = true;
    return OkStatus();
  }
  return RemoveAllAt(dir_fd, name).Wrap("replace existing");
}

Status EntryWriter::WriteRegular(struct archive* a, struct archive_entry* e, int dir_fd,
                                 const std::string& name, const std::string& path) {
  UniqueFd fd(
      openat(dir_fd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) return ErrnoStatus(errno, "create");
  MarkWritten(path);
  const void* buf;
  size_t size;
  la_int64_t offset;
  int64_t end = 0;
  while (true) {
    int r = archive_read_data_block(a, &buf, &size, &offset);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) {
      return Status(StatusCode::kDataLoss,
                    std::string("read file data: ") + archive_error_string(a));
    }
    // Blocks come with their offset: holes of sparse files are simply not written.
    const char* p = static_cast<const char*>(buf);
    size_t left = size;
    while (left > 0) {
      ssize_t w = pwrite(fd.get(), p, left, offset);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return ErrnoStatus(errno, "write");
      p += w;
      left -= w;
      offset += w;
    }
    stats_->bytes_written += size;
    end = std::max<int64_t>(end, offset);
  }
  if (archive_entry_size_is_set(e) && end < archive_entry_size(e) &&
      ftruncate(fd.get(), archive_entry_size(e)) != 0) {
    return ErrnoStatus(errno, "truncate");
  }
  return ApplyMetadata(e, dir_fd, name, fd.get(), AE_IFREG, path);
}

Status EntryWriter::WriteHardlink(struct archive_entry* e, int dir_fd, const std::string& name,
                                  const std::string& path) {
  const char* raw = archive_entry_hardlink_utf8(e);
  if (raw == nullptr) raw = archive_entry_hardlink(e);
  Result<std::string> target = CleanEntryPath(raw);
  if (!target.ok()) return target.status().Wrap("hard link target " + QuoteName(raw));
  if (target->empty()) return InvalidArgument("hard link to the layer root");
  if (*target == path) return OkStatus();  // a link to itself: nothing to do
  Result<SafeRoot::Parent> tp = root_->ResolveParent(*target, SymlinkFlags());
  struct stat st;
  if (!tp.ok() || fstatat(tp->dir.get(), tp->name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return InvalidArgument("hard link target " + QuoteName(raw) +
                           " does not exist in the layer root");
  }
  if (S_ISLNK(st.st_mode) || S_ISDIR(st.st_mode)) {
    return InvalidArgument("hard link target " + QuoteName(raw) + " is a " +
                           (S_ISLNK(st.st_mode) ? "symlink" : "directory"));
  }
  bool keep_dir = false;
  BERTH_RETURN_IF_ERROR(MakeRoom(dir_fd, name, AE_IFREG, &keep_dir));
  // flags 0: never AT_SYMLINK_FOLLOW, the link is made to exactly the inode checked above.
  if (linkat(tp->dir.get(), tp->name.c_str(), dir_fd, name.c_str(), 0) != 0) {
    return ErrnoStatus(errno, "link to " + QuoteName(raw));
  }
  MarkWritten(path);
  return OkStatus();
}

Status EntryWriter::WriteDevice(struct archive_entry* e, int dir_fd, const std::string& name) {
  mode_t type = archive_entry_filetype(e) == AE_IFCHR ? S_IFCHR : S_IFBLK;
  dev_t dev = makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
  if (mknodat(dir_fd, name.c_str(), type | 0600, dev) != 0) return ErrnoStatus(errno, "mknod");
  return OkStatus();
}

Status EntryWriter::Finish() {
  for (const DirTimes& d : dir_times_) {
    Result<SafeRoot::Parent> p = root_->ResolveParent(d.path, SymlinkFlags());
    if (!p.ok()) continue;  // removed or replaced later in the layer
    struct stat st;
    if (fstatat(p->dir.get(), p->name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISDIR(st.st_mode)) {
      continue;
    }
    if (utimensat(p->dir.get(), p->name.c_str(), d.times, AT_SYMLINK_NOFOLLOW) != 0) {
      return ErrnoStatus(errno, "set times of directory " + QuoteName(d.path));
    }
  }
  return OkStatus();
}

}  // namespace berth
