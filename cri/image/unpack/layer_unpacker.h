#pragma once
// Applying one image layer (a tar, plain or gzip/zstd-compressed) to a snapshot directory.
//
// libarchive only parses the tar; decompression and hashing are ours (LayerReader) and every
// filesystem change is made by our code through a SafeRoot: creation with *at() calls relative
// to directory fds that were resolved inside the target. Nothing outside the target directory
// is created, modified or removed, whatever the layer contains.
//
// Entry rules (containerd/moby practice unless said otherwise):
//  - Names: a leading "/" is dropped (the path is taken relative to the target, like
//    containerd and docker); "." and empty components are ignored; ".." is applied lexically
//    and an entry that climbs above the target is REFUSED; empty names and names of PATH_MAX or
//    more bytes are refused. The target directory itself ("./") is skipped: its metadata
//    belongs to the snapshotter.
//  - Symlinks inside paths: by default a path that goes through a symlink (one planted by a
//    lower layer or earlier in the same tar, e.g. `a -> /etc` then `a/passwd`) is REFUSED. With
//    follow_symlinks_in_root such symlinks are followed but confined to the target, as if it
//    were "/" (containerd's behaviour). Symlink entries themselves are stored verbatim.
//  - Hard links: the target must be inside the target dir, already exist there, and be neither
//    a directory nor a symlink; otherwise REFUSED.
//  - Replacement: a later entry replaces whatever is at its path, except that a directory entry
//    over an existing directory only updates its metadata (children stay).
//  - Devices: char/block devices follow DevicePolicy (FIFOs are always created). containerd and
//    CRI-O create devices when privileged and skip them in user namespaces; berthd running as
//    root passes kCreate, unprivileged or user-namespaced setups kSkip. The default is kRefuse.
//  - Metadata, applied in this order so nothing is undone: chown (uid/gid + offsets), chmod
//    (incl. setuid/setgid/sticky), xattrs, atime/mtime (ns). Directory times are set after the
//    whole layer is written, since writing children changes them.
//  - Xattrs (regular files and directories only): user.* and security.capability; trusted.*
//    only with allow_trusted_xattrs, and never trusted.overlay.* (that would let a layer forge
//    overlayfs whiteouts/redirects). Others (security.selinux, ACLs) are skipped with a warning.
//  - OCI whiteouts (`.wh.<name>`, `.wh..wh..opq`) only hide content of LOWER layers; their own
//    files are never written. Other `.wh..wh.*` names (aufs metadata) are skipped.
//      kDelete  (target = merged view, native snapshotter): `.wh.x` removes x recursively;
//               an opaque marker removes everything in its directory that this layer did not
//               write itself. A char device 0/0 in the tar is treated as a device.
//      kOverlay (target = an overlayfs upperdir): `.wh.x` becomes a 0/0 character device, an
//               opaque marker sets trusted.overlay.opaque=y (both need root); a 0/0 char device
//               in the tar is accepted as a whiteout whatever the DevicePolicy.
//
// Errors: INVALID_ARGUMENT for a refused entry, with a message that names it (control
// characters escaped), e.g. `entry "../../etc/evil": path climbs above the layer root`;
// DATA_LOSS for a corrupt stream; others from the filesystem. On error the unpack stops and the
// target is left partially written: the caller discards the snapshot.
// Threads: one unpack per target directory at a time; unpacks into different directories may
// run in parallel (no shared state). Overlapping download and unpack is the caller's business:
// the input is a complete blob.

#include <cstdint>
#include <string>

#include "common/log.h"
#include "common/safe_path.h"
#include "common/status.h"
#include "cri/image/unpack/layer_reader.h"

namespace berth {

enum class WhiteoutMode { kDelete, kOverlay };
enum class DevicePolicy { kRefuse, kSkip, kCreate };

struct UnpackOptions {
  WhiteoutMode whiteouts = WhiteoutMode::kDelete;
  // OCI or Docker layer media type; empty: decided by the magic bytes alone.
  std::string media_type;
  DevicePolicy devices = DevicePolicy::kRefuse;
  // chown entries to their tar uid/gid (plus the offsets); needs CAP_CHOWN. When false files
  // belong to the caller.
  bool preserve_ownership = true;
  uint32_t uid_offset = 0;
  uint32_t gid_offset = 0;
  bool allow_trusted_xattrs = false;
  bool follow_symlinks_in_root = false;
  ResolverKind resolver = ResolverKind::kAuto;
};

struct UnpackStats {
  uint64_t entries = 0;        // tar entries processed (including whiteouts and skipped ones)
  uint64_t skipped = 0;        // entries skipped with a warning
  uint64_t bytes_written = 0;  // regular file data written
  uint64_t tar_bytes = 0;      // size of the uncompressed tar stream
  Compression compression = Compression::kNone;
  std::string diff_id;  // "sha256:<hex>" of the uncompressed tar stream
};

// Applies the layer read from `blob_fd` (borrowed; read from its current offset to the end)
// to the existing directory `target_dir`.
Result<UnpackStats> UnpackLayer(int blob_fd, const std::string& target_dir,
                                const UnpackOptions& options, const Logger& log);

// Same, opening `blob_path`.
Result<UnpackStats> UnpackLayerFile(const std::string& blob_path, const std::string& target_dir,
                                    const UnpackOptions& options, const Logger& log);

}  // namespace berth
