#pragma once
// Test helper: builds (hostile) layer tars in memory with libarchive's WRITE API, optionally
// gzip/zstd-compressed. Names are written exactly as given.

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <utility>
#include <vector>

namespace berth::testing {

struct TarMeta {
  mode_t perm = 0644;
  int64_t uid = 0, gid = 0;
  int64_t mtime = 1700000000;
  long mtime_ns = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;
};

inline TarMeta WithPerm(mode_t perm, TarMeta m = {}) {
  m.perm = perm;
  return m;
}

class TarBuilder {
 public:
  using Meta = TarMeta;

  TarBuilder& File(const std::string& name, const std::string& data, Meta m = {}) {
    return Add(name, AE_IFREG, m, data);
  }
  TarBuilder& Dir(const std::string& name, Meta m = WithPerm(0755)) {
    return Add(name, AE_IFDIR, m);
  }
  TarBuilder& Symlink(const std::string& name, const std::string& target, Meta m = WithPerm(0777)) {
    return Add(name, AE_IFLNK, m, "", target);
  }
  TarBuilder& Hardlink(const std::string& name, const std::string& target, Meta m = {}) {
    return Add(name, AE_IFREG, m, "", "", target);
  }
  TarBuilder& Device(const std::string& name, mode_t type, int major, int minor, Meta m = {}) {
    return Add(name, type, m, "", "", "", major, minor);
  }
  TarBuilder& Fifo(const std::string& name, Meta m = {}) { return Add(name, AE_IFIFO, m); }

  // "none", "gzip" or "zstd".
  std::string Build(const std::string& compression = "none") const {
    std::string out;
    struct archive* a = archive_write_new();
    archive_write_set_format_pax(a);
    if (compression == "gzip") archive_write_add_filter_gzip(a);
    if (compression == "zstd") archive_write_add_filter_zstd(a);
    archive_write_set_bytes_in_last_block(a, 1);
    archive_write_open(a, &out, nullptr, &TarBuilder::Write, nullptr);
    for (const Entry& e : entries_) {
      struct archive_entry* ae = archive_entry_new();
      archive_entry_copy_pathname(ae, e.name.c_str());
      archive_entry_set_filetype(ae, e.type);
      archive_entry_set_perm(ae, e.meta.perm);
      archive_entry_set_uid(ae, e.meta.uid);
      archive_entry_set_gid(ae, e.meta.gid);
      archive_entry_set_mtime(ae, e.meta.mtime, e.meta.mtime_ns);
      for (const auto& [k, v] : e.meta.xattrs) {
        archive_entry_xattr_add_entry(ae, k.c_str(), v.data(), v.size());
      }
      if (!e.symlink.empty()) archive_entry_copy_symlink(ae, e.symlink.c_str());
      if (!e.hardlink.empty()) archive_entry_copy_hardlink(ae, e.hardlink.c_str());
      if (e.type == AE_IFCHR || e.type == AE_IFBLK) {
        archive_entry_set_rdevmajor(ae, e.major);
        archive_entry_set_rdevminor(ae, e.minor);
      }
      archive_entry_set_size(ae, e.data.size());
      archive_write_header(a, ae);
      if (!e.data.empty()) archive_write_data(a, e.data.data(), e.data.size());
      archive_entry_free(ae);
    }
    archive_write_close(a);
    archive_write_free(a);
    return out;
  }

  // Writes Build(compression) to `path`.
  void WriteTo(const std::string& path, const std::string& compression = "none") const {
    std::string data = Build(compression);
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return;
    size_t off = 0;
    while (off < data.size()) {
      ssize_t w = write(fd, data.data() + off, data.size() - off);
      if (w <= 0) break;
      off += w;
    }
    close(fd);
  }

 private:
  struct Entry {
    std::string name;
    mode_t type;
    Meta meta;
    std::string data, symlink, hardlink;
    int major = 0, minor = 0;
  };
  TarBuilder& Add(const std::string& name, mode_t type, Meta m, const std::string& data = "",
                  const std::string& symlink = "", const std::string& hardlink = "", int major = 0,
                  int minor = 0) {
    entries_.push_back(Entry{name, type, std::move(m), data, symlink, hardlink, major, minor});
    return *this;
  }
  static la_ssize_t Write(struct archive*, void* client, const void* buf, size_t n) {
    static_cast<std::string*>(client)->append(static_cast<const char*>(buf), n);
    return static_cast<la_ssize_t>(n);
  }
  std::vector<Entry> entries_;
};

}  // namespace berth::testing
