#pragma once
// CriLogWriter: the container's stdout/stderr into a CRI log file, in the format the kubelet
// reads (the same rules as containerd's cri io/logger.go):
//
//   <RFC3339Nano UTC> <stdout|stderr> <P|F> <text>\n
//
// - A line ends at '\n' (a '\r' just before it is dropped) and is written with tag F.
// - A line longer than kMaxLineSize is cut into kMaxLineSize pieces tagged P; the last piece
//   (up to the newline) is F. A line of exactly kMaxLineSize bytes is a single F.
// - Text left without a newline when the stream ends (Flush) is written with tag P.
// - The timestamp is Go's time.RFC3339Nano: trailing zeros of the fraction are dropped.
//
// Memory: one fixed kMaxLineSize buffer per stream, allocated with the writer; no allocation
// per line. Each record is one writev() on an O_APPEND fd.
// Reopen() opens the path anew (log rotation: the old file was renamed); partial lines in the
// buffers are kept and go to the new file. Single-threaded; write errors are counted, not fatal.

#include <time.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/status.h"

namespace berth::shim {

enum class LogStream { kStdout = 0, kStderr = 1 };

class CriLogWriter {
 public:
  static constexpr size_t kMaxLineSize = 16 * 1024;
  using Clock = timespec (*)();

  explicit CriLogWriter(std::string path, Clock clock = nullptr);
  ~CriLogWriter();
  CriLogWriter(const CriLogWriter&) = delete;
  CriLogWriter& operator=(const CriLogWriter&) = delete;

  // Opens (creates, 0640) the file for appending. An empty path discards all output.
  Status Open();
  // Closes the current fd and opens the path again (a new file if it was renamed away).
  Status Reopen();

  void Write(LogStream stream, const char* data, size_t len);
  // End of `stream`: text without a newline is written as P.
  void Flush(LogStream stream);

  uint64_t write_errors() const { return write_errors_; }

  // "2024-01-02T03:04:05.12345Z" into `out` (at least 40 bytes); returns the length.
  static size_t FormatTimestamp(const timespec& ts, char* out);

 private:
  struct Pending {
    char buf[kMaxLineSize];
    size_t len = 0;
  };
  void Emit(LogStream stream, char tag);

  std::string path_;
  Clock clock_;
  int fd_ = -1;
  Pending pending_[2];
  uint64_t write_errors_ = 0;
};

}  // namespace berth::shim
