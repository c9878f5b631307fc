// EntryWriter: owners, modes, xattrs and times of an entry just created.

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <climits>

#include "common/unique_fd.h"
#include "cri/image/unpack/entry_path.h"
#include "cri/image/unpack/entry_writer.h"

namespace berth {
namespace {

enum class XattrVerdict { kApply, kSkip };

XattrVerdict Judge(std::string_view name, bool allow_trusted) {
  if (name.starts_with("user.") || name == "security.capability") return XattrVerdict::kApply;
  // trusted.overlay.* would let a layer forge overlayfs whiteouts, opaque dirs or redirects.
  if (allow_trusted && name.starts_with("trusted.") && !name.starts_with("trusted.overlay.")) {
    return XattrVerdict::kApply;
  }
  return XattrVerdict::kSkip;
}

Result<uint32_t> MapId(la_int64_t id, uint32_t offset, const char* what) {
  if (id < 0 || static_cast<uint64_t>(id) + offset > UINT32_MAX - 1) {
    return InvalidArgument(std::string(what) + " " + std::to_string(id) + " is out of range");
  }
  return static_cast<uint32_t>(id + offset);
}

}  // namespace

Status EntryWriter::ApplyMetadata(struct archive_entry* e, int dir_fd, const std::string& name,
                                  int fd, mode_t type, const std::string& path) {
  // 1. Owner first: chown clears setuid/setgid bits and file capabilities.
  if (opts_.preserve_ownership) {
    Result<uint32_t> uid = MapId(archive_entry_uid(e), opts_.uid_offset, "uid");
    if (!uid.ok()) return uid.status();
    Result<uint32_t> gid = MapId(archive_entry_gid(e), opts_.gid_offset, "gid");
    if (!gid.ok()) return gid.status();
    int r = fd >= 0 ? fchown(fd, *uid, *gid)
                    : fchownat(dir_fd, name.c_str(), *uid, *gid, AT_SYMLINK_NOFOLLOW);
    if (r != 0) return ErrnoStatus(errno, "chown");
  }
  // 2. Mode, including setuid/setgid/sticky. Symlinks have no mode of their own on Linux.
  if (type != AE_IFLNK) {
    mode_t perm = archive_entry_perm(e) & 07777;
    // AT_SYMLINK_NOFOLLOW: glibc does it through an O_PATH fd, so a symlink swapped in under
    // our feet is refused rather than followed.
    int r = fd >= 0 ? fchmod(fd, perm) : fchmodat(dir_fd, name.c_str(), perm, AT_SYMLINK_NOFOLLOW);
    if (r != 0) return ErrnoStatus(errno, "chmod");
  }
  // 3. Extended attributes, after chown (which clears security.capability).
  if (archive_entry_xattr_count(e) > 0) {
    if (type == AE_IFREG || type == AE_IFDIR) {
      UniqueFd dir_fd_rd;
      if (fd < 0) {
        dir_fd_rd.reset(
            openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!dir_fd_rd) return ErrnoStatus(errno, "open directory for xattrs");
      }
      BERTH_RETURN_IF_ERROR(ApplyXattrs(e, fd >= 0 ? fd : dir_fd_rd.get(), type));
    } else {
      log_.Warn("skipping xattrs of a special file", {{"entry", QuoteName(path)}});
    }
  }
  // 4. Times. A directory's are set at the end: creating its children changes them.
  struct timespec ts[2];
  ts[1].tv_sec = archive_entry_mtime(e);
  ts[1].tv_nsec = archive_entry_mtime_nsec(e);
  if (archive_entry_atime_is_set(e)) {
    ts[0].tv_sec = archive_entry_atime(e);
    ts[0].tv_nsec = archive_entry_atime_nsec(e);
  } else {
    ts[0] = ts[1];
  }
  if (type == AE_IFDIR) {
    dir_times_.push_back(DirTimes{path, {ts[0], ts[1]}});
    return OkStatus();
  }
  int r = fd >= 0 ? futimens(fd, ts) : utimensat(dir_fd, name.c_str(), ts, AT_SYMLINK_NOFOLLOW);
  if (r != 0) return ErrnoStatus(errno, "set times");
  return OkStatus();
}

Status EntryWriter::ApplyXattrs(struct archive_entry* e, int fd, mode_t type) {
  (void)type;
  archive_entry_xattr_reset(e);
  const char* name;
  const void* value;
  size_t size;
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
    if (Judge(name, opts_.allow_trusted_xattrs) == XattrVerdict::kSkip) {
      log_.Warn("skipping xattr not allowed in layers", {{"xattr", QuoteName(name)}});
      continue;
    }
    if (fsetxattr(fd, name, value, size, 0) != 0) {
      // Filesystems without user xattrs are common (and docker ignores this too); a missing
      // capability is not something to ignore.
      if ((errno == ENOTSUP) && std::string_view(name).starts_with("user.")) {
        log_.Warn("filesystem does not support xattr", {{"xattr", QuoteName(name)}});
        continue;
      }
      return ErrnoStatus(errno, "set xattr " + QuoteName(name));
    }
  }
  return OkStatus();
}

}  // namespace berth
