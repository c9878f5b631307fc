// EntryWriter: OCI whiteouts (`.wh.<name>`, `.wh..wh..opq`) in kDelete and kOverlay mode.
// Per the image spec a whiteout only hides LOWER layers: what this layer wrote itself stays.

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/unique_fd.h"
#include "cri/image/unpack/entry_path.h"
#include "cri/image/unpack/entry_writer.h"
#include "cri/image/unpack/fs_util.h"

namespace berth {
namespace {

constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";
constexpr std::string_view kAufsMetaPrefix = ".wh..wh.";
constexpr char kOverlayOpaqueXattr[] = "trusted.overlay.opaque";

}  // namespace

Status EntryWriter::ApplyWhiteout(struct archive_entry* e, const std::string& dir,
                                  const std::string& base) {
  (void)e;
  const bool overlay = opts_.whiteouts == WhiteoutMode::kOverlay;
  if (base == kOpaqueMarker) {
    if (overlay) {
      Result<UniqueFd> d = root_->MkdirAll(dir, 0755, SymlinkFlags());
      if (!d.ok()) return d.status();
      MarkWritten(dir);
      UniqueFd rd(openat(d->get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (!rd) return ErrnoStatus(errno, "open opaque directory");
      if (fsetxattr(rd.get(), kOverlayOpaqueXattr, "y", 1, 0) != 0) {
        return ErrnoStatus(errno, std::string("set ") + kOverlayOpaqueXattr);
      }
      return OkStatus();
    }
    Result<UniqueFd> d =
        root_->Resolve(dir, SymlinkFlags() | kResolveFollowFinal | kResolveDirectory);
    if (!d.ok() && d.status().code() == StatusCode::kNotFound) return OkStatus();
    if (!d.ok()) return d.status();
    return RemoveNotWritten(d->get(), dir);
  }
  if (base.starts_with(kAufsMetaPrefix)) {
    // aufs bookkeeping (.wh..wh.plnk, .wh..wh.aufs); docker skips these too.
    log_.Warn("skipping aufs metadata entry", {{"entry", QuoteName(JoinPath(dir, base))}});
    ++stats_->skipped;
    return OkStatus();
  }
  std::string victim = base.substr(4);
  if (victim.empty() || victim == "." || victim == "..") {
    return InvalidArgument("whiteout does not name a file");
  }
  std::string path = JoinPath(dir, victim);
  if (written_.contains(path)) return OkStatus();  // same layer: the whiteout does not apply
  if (overlay) {
    Result<UniqueFd> d = root_->MkdirAll(dir, 0755, SymlinkFlags());
    if (!d.ok()) return d.status();
    BERTH_RETURN_IF_ERROR(RemoveAllAt(d->get(), victim));
    return MakeOverlayWhiteout(d->get(), victim);
  }
  Result<SafeRoot::Parent> p = root_->ResolveParent(path, SymlinkFlags());
  if (!p.ok() && p.status().code() == StatusCode::kNotFound) return OkStatus();
  if (!p.ok()) return p.status();
  return RemoveAllAt(p->dir.get(), p->name).Wrap("remove whited-out " + QuoteName(path));
}

Status EntryWriter::MakeOverlayWhiteout(int dir_fd, const std::string& name) {
  if (mknodat(dir_fd, name.c_str(), S_IFCHR | 0000, makedev(0, 0)) != 0) {
    return ErrnoStatus(errno, "create overlay whiteout device");
  }
  return OkStatus();
}

Status EntryWriter::RemoveNotWritten(int dir_fd, const std::string& dir) {
  Result<std::vector<std::string>> names = ListDirAt(dir_fd);
  if (!names.ok()) return names.status().Wrap("list " + QuoteName(dir));
  for (const std::string& n : *names) {
    std::string child = JoinPath(dir, n);
    if (!written_.contains(child)) {
      BERTH_RETURN_IF_ERROR(RemoveAllAt(dir_fd, n).Wrap("opaque " + QuoteName(dir)));
      continue;
    }
    // Written by this layer: keep it, but a directory may still hold lower-layer children.
    UniqueFd sub(openat(dir_fd, n.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (sub) BERTH_RETURN_IF_ERROR(RemoveNotWritten(sub.get(), child));
  }
  return OkStatus();
}

}  // namespace berth
