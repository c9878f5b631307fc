#pragma once
// Reading a CRI container log file the way kubelet (and so crictl logs) does, straight from
// ContainerStatus.log_path.
//
// The file holds one record per line: "<RFC3339Nano time> <stdout|stderr> <tag> <content>\n",
// where the tag is "F" (the content ends a line) or "P" (a partial line, continued by the next
// record), possibly followed by ":"-separated extensions.
//
// Not thread-safe; one reader per call.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "common/status.h"

namespace berth::cli {

struct LogRecord {
  int64_t unix_nanos = 0;
  int offset_seconds = 0;  // the zone the time was written in (kept when printing it)
  bool is_stderr = false;
  bool partial = false;
  std::string content;  // with its '\n' for a full line, without for a partial one
};

// Parses one line (with or without its trailing '\n'). INVALID_ARGUMENT naming what is wrong
// ("timestamp is not found", "unexpected stream type \"x\"", …) as kubelet says it.
Result<LogRecord> ParseCriLogLine(std::string_view line);

// Parses an RFC 3339 time with an optional fraction ("2024-05-01T10:00:00.5Z", "…+02:00").
Result<std::pair<int64_t, int>> ParseRfc3339(std::string_view text);

// crictl logs --since: a Go duration before `now` ("42m", "1h30m"; whole seconds, as docker's
// GetTimestamp rounds), an RFC 3339 date or time with or without zone ("2013-01-02",
// "2013-01-02T13:23", "2013-01-02T13:23:37Z"; without a zone it is local time) or a Unix time
// ("1700000000", "1700000000.5"). Unix nanoseconds; INVALID_ARGUMENT otherwise.
Result<int64_t> ParseSince(std::string_view text, std::chrono::system_clock::time_point now);

struct LogReadOptions {
  int64_t tail = -1;         // last N lines of the file; < 0: all
  int64_t limit_bytes = -1;  // < 0: no limit
  std::optional<int64_t> since_nanos;
  bool timestamps = false;  // prefix each line with its RFC3339Nano time
  bool stdout_stream = true;
  bool stderr_stream = true;
  bool follow = false;
  // With follow: how often the file is looked at again, and the check kubelet makes when
  // nothing was written for a while: false when the container no longer runs, which ends the
  // follow once the file is read to its end. Called about once a second.
  std::chrono::milliseconds poll_interval{100};
  std::function<bool()> still_running;
};

// kubelet's FindTailLineStartIndex: the offset of the n-th last line of the file at `fd`
// (0 for n < 0 or a file with fewer lines). Reads from the end, block by block.
Result<int64_t> TailStartOffset(int fd, int64_t n);

// Copies the log at `path` to `out` (stdout records) and `err` (stderr records), as kubelet's
// ReadLogs: lines that do not parse are skipped with a note on `notes`; with follow, waits for
// more (and reopens the path when the file is rotated) until still_running() says false.
// NOT_FOUND "failed to open log file …" when the file does not exist.
Status ReadCriLog(const std::string& path, const LogReadOptions& options, std::ostream& out,
                  std::ostream& err, std::ostream& notes);

}  // namespace berth::cli
