#include "common/fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

namespace berth {
namespace {

Status WriteAll(int fd, std::string_view data, const std::string& what) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "write " + what);
    }
    off += static_cast<size_t>(n);
  }
  return OkStatus();
}

Status FsyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "open directory " + dir);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return ErrnoStatus(err, "fsync directory " + dir);
  return OkStatus();
}

}  // namespace

Status AtomicWriteFile(const std::string& path, std::string_view data, mode_t mode) {
  std::filesystem::path p(path);
  std::string dir = p.has_parent_path() ? p.parent_path().string() : ".";
  std::string tmpl = dir + "/." + p.filename().string() + ".tmp-XXXXXX";
  int fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "create temporary file for " + path);

  auto fail = [&](Status s) {
    ::close(fd);
    ::unlink(tmpl.c_str());
    return s;
  };
  if (::fchmod(fd, mode) != 0) return fail(ErrnoStatus(errno, "chmod " + tmpl));
  if (Status s = WriteAll(fd, data, tmpl); !s.ok()) return fail(s);
  if (::fsync(fd) != 0) return fail(ErrnoStatus(errno, "fsync " + tmpl));
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(tmpl.c_str());
    return ErrnoStatus(err, "close " + tmpl);
  }
  if (::rename(tmpl.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmpl.c_str());
    return ErrnoStatus(err, "rename " + tmpl + " to " + path);
  }
  return FsyncDir(dir);
}

Result<std::string> ReadFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "open " + path);
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return ErrnoStatus(err, "read " + path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

Status MakeDirs(const std::string& path, mode_t mode) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return ErrnoStatus(ec.value(), "create directory " + path);
  if (::chmod(path.c_str(), mode) != 0) return ErrnoStatus(errno, "chmod " + path);
  return OkStatus();
}

}  // namespace berth
