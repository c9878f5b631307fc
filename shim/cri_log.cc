#include "shim/cri_log.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstring>

namespace berth::shim {
namespace {

timespec RealtimeNow() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts;
}

}  // namespace

CriLogWriter::CriLogWriter(std::string path, Clock clock)
    : path_(std::move(path)), clock_(clock ? clock : &RealtimeNow) {}

CriLogWriter::~CriLogWriter() {
  if (fd_ >= 0) close(fd_);
}

Status CriLogWriter::Open() {
  if (path_.empty()) return OkStatus();
  int fd = open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) return ErrnoStatus(errno, "open log file " + path_);
  if (fd_ >= 0) close(fd_);
  fd_ = fd;
  return OkStatus();
}

Status CriLogWriter::Reopen() { return Open(); }

size_t CriLogWriter::FormatTimestamp(const timespec& ts, char* out) {
  tm t;
  time_t secs = ts.tv_sec;
  gmtime_r(&secs, &t);
  size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &t);
  long nanos = ts.tv_nsec;
  if (nanos > 0) {
    char frac[10];
    for (int i = 8; i >= 0; --i, nanos /= 10) frac[i] = static_cast<char>('0' + nanos % 10);
    size_t digits = 9;
    while (digits > 0 && frac[digits - 1] == '0') --digits;
    out[n++] = '.';
    memcpy(out + n, frac, digits);
    n += digits;
  }
  out[n++] = 'Z';
  out[n] = '\0';
  return n;
}

void CriLogWriter::Emit(LogStream stream, char tag) {
  Pending& p = pending_[static_cast<int>(stream)];
  size_t len = p.len;
  p.len = 0;
  if (fd_ < 0) return;
  char header[64];
  size_t n = FormatTimestamp(clock_(), header);
  const char* name = stream == LogStream::kStdout ? " stdout " : " stderr ";
  memcpy(header + n, name, 8);
  n += 8;
  header[n++] = tag;
  header[n++] = ' ';
  char newline = '\n';
  iovec iov[3] = {{header, n}, {p.buf, len}, {&newline, 1}};
  size_t total = n + len + 1;
  ssize_t w;
  do {
    w = writev(fd_, iov, 3);
  } while (w < 0 && errno == EINTR);
  // A short write to a regular file means the disk is full: the record is lost either way.
  if (w != static_cast<ssize_t>(total)) ++write_errors_;
}

void CriLogWriter::Write(LogStream stream, const char* data, size_t len) {
  Pending& p = pending_[static_cast<int>(stream)];
  while (len > 0) {
    if (p.len == kMaxLineSize) {
      if (*data == '\n') {  // a line of exactly the maximum size is still one full line
        Emit(stream, 'F');
        ++data;
        --len;
        continue;
      }
      Emit(stream, 'P');
    }
    size_t room = kMaxLineSize - p.len;
    size_t take = len < room ? len : room;
    const char* nl = static_cast<const char*>(memchr(data, '\n', take));
    if (nl != nullptr) {
      size_t n = static_cast<size_t>(nl - data);
      memcpy(p.buf + p.len, data, n);
      p.len += n;
      if (p.len > 0 && p.buf[p.len - 1] == '\r') --p.len;
      Emit(stream, 'F');
      data += n + 1;
      len -= n + 1;
    } else {
      memcpy(p.buf + p.len, data, take);
      p.len += take;
      data += take;
      len -= take;
    }
  }
}

void CriLogWriter::Flush(LogStream stream) {
  if (pending_[static_cast<int>(stream)].len > 0) Emit(stream, 'P');
}

}  // namespace berth::shim
