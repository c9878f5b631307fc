#include "cli/verbs/log_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <thread>
#include <vector>

#include "cli/duration.h"
#include "cli/verbs/cri_util.h"
#include "common/unique_fd.h"

namespace berth::cli {
namespace {

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Reads `n` digits at `pos` as a number; -1 when they are not all digits.
int Digits(std::string_view s, size_t pos, size_t n) {
  if (pos + n > s.size() || !AllDigits(s.substr(pos, n))) return -1;
  int v = 0;
  for (size_t i = 0; i < n; ++i) v = v * 10 + (s[pos + i] - '0');
  return v;
}

// Days from 1970-01-01 to the civil date (Howard Hinnant's algorithm): timegm without the
// process's TZ involvement.
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

struct Parsed {
  int64_t unix_nanos = 0;
  int offset = 0;
  bool has_zone = false;
};

// "YYYY-MM-DD[THH[:MM[:SS[.frac]]]][Z|±HH:MM]"; fields not given are 0. Without a zone the
// time is UTC here; the caller moves it to local time.
Result<Parsed> ParseDateTime(std::string_view text, bool require_seconds) {
  auto bad = [&] {
    return InvalidArgument("cannot parse \"" + std::string(text) + "\" as a time");
  };
  int year = Digits(text, 0, 4), month = Digits(text, 5, 2), day = Digits(text, 8, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > 31 || text[4] != '-' ||
      text[7] != '-') {
    return bad();
  }
  size_t pos = 10;
  int hour = 0, minute = 0, second = 0;
  int64_t nanos = 0;
  if (pos < text.size() && (text[pos] == 'T' || text[pos] == 't')) {
    hour = Digits(text, pos + 1, 2);
    if (hour < 0 || hour > 23) return bad();
    pos += 3;
    if (pos < text.size() && text[pos] == ':') {
      minute = Digits(text, pos + 1, 2);
      if (minute < 0 || minute > 59) return bad();
      pos += 3;
      if (pos < text.size() && text[pos] == ':') {
        second = Digits(text, pos + 1, 2);
        if (second < 0 || second > 60) return bad();
        pos += 3;
        if (pos < text.size() && text[pos] == '.') {
          size_t start = ++pos;
          int64_t scale = 100000000;
          while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            nanos += (text[pos] - '0') * scale;
            scale /= 10;
            ++pos;
          }
          if (pos == start) return bad();
        }
      } else if (require_seconds) {
        return bad();
      }
    } else if (require_seconds) {
      return bad();
    }
  } else if (require_seconds) {
    return bad();
  }
  Parsed p;
  if (pos < text.size()) {
    if (text[pos] == 'Z' || text[pos] == 'z') {
      p.has_zone = true;
      ++pos;
    } else if (text[pos] == '+' || text[pos] == '-') {
      int oh = Digits(text, pos + 1, 2), om = Digits(text, pos + 4, 2);
      if (oh < 0 || om < 0 || pos + 3 >= text.size() || text[pos + 3] != ':') return bad();
      p.offset = (oh * 3600 + om * 60) * (text[pos] == '-' ? -1 : 1);
      p.has_zone = true;
      pos += 6;
    }
  }
  if (pos != text.size()) return bad();
  int64_t secs =
      DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 +
      hour * 3600 + minute * 60 + second - p.offset;
  p.unix_nanos = secs * 1000000000 + nanos;
  return p;
}

constexpr char kDelimiter = ' ';

}  // namespace

Result<std::pair<int64_t, int>> ParseRfc3339(std::string_view text) {
  auto p = ParseDateTime(text, /*require_seconds=*/true);
  if (!p.ok()) return p.status();
  if (!p->has_zone) return InvalidArgument("time \"" + std::string(text) + "\" has no zone");
  return std::make_pair(p->unix_nanos, p->offset);
}

Result<LogRecord> ParseCriLogLine(std::string_view line) {
  LogRecord r;
  size_t idx = line.find(kDelimiter);
  if (idx == std::string_view::npos) return InvalidArgument("timestamp is not found");
  auto ts = ParseRfc3339(line.substr(0, idx));
  if (!ts.ok()) {
    return InvalidArgument("unexpected timestamp format \"RFC3339Nano\": " + ts.status().message());
  }
  r.unix_nanos = ts->first;
  r.offset_seconds = ts->second;
  line.remove_prefix(idx + 1);
  idx = line.find(kDelimiter);
  if (idx == std::string_view::npos) return InvalidArgument("stream type is not found");
  std::string_view stream = line.substr(0, idx);
  if (stream != "stdout" && stream != "stderr") {
    return InvalidArgument("unexpected stream type \"" + std::string(stream) + "\"");
  }
  r.is_stderr = stream == "stderr";
  line.remove_prefix(idx + 1);
  idx = line.find(kDelimiter);
  if (idx == std::string_view::npos) return InvalidArgument("log tag is not found");
  std::string_view tag = line.substr(0, idx);
  r.partial = tag.substr(0, tag.find(':')) == "P";
  std::string_view content = line.substr(idx + 1);
  if (r.partial && !content.empty() && content.back() == '\n') content.remove_suffix(1);
  r.content = std::string(content);
  return r;
}

Result<int64_t> ParseSince(std::string_view text, std::chrono::system_clock::time_point now) {
  const auto now_secs =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  // A number is a Unix time ("secs" or "secs.frac").
  size_t dot = text.find('.');
  if (AllDigits(text.substr(0, dot)) &&
      (dot == std::string_view::npos || AllDigits(text.substr(dot + 1)))) {
    int64_t secs = std::stoll(std::string(text.substr(0, dot)));
    int64_t nanos = 0;
    if (dot != std::string_view::npos) {
      std::string frac(text.substr(dot + 1, 9));
      frac.resize(9, '0');
      nanos = std::stoll(frac);
    }
    return secs * 1000000000 + nanos;
  }
  if (text.find('-') == std::string_view::npos) {
    auto d = ParseDuration(text);
    if (!d.ok()) {
      return InvalidArgument("failed to parse value as time or duration: \"" + std::string(text) +
                             "\"");
    }
    // docker's GetTimestamp keeps whole seconds of now - d.
    return (now_secs - std::chrono::duration_cast<std::chrono::seconds>(*d).count() -
            (d->count() % 1000000000 != 0 ? 1 : 0)) *
           1000000000;
  }
  auto p = ParseDateTime(text, /*require_seconds=*/false);
  if (!p.ok()) return p.status();
  if (!p->has_zone) {
    // Local time: the offset of the local zone at about that time.
    time_t t = static_cast<time_t>(p->unix_nanos / 1000000000);
    std::tm tm{};
    ::localtime_r(&t, &tm);
    p->unix_nanos -= static_cast<int64_t>(tm.tm_gmtoff) * 1000000000;
  }
  return p->unix_nanos;
}

Result<int64_t> TailStartOffset(int fd, int64_t n) {
  if (n < 0) return 0;
  struct stat st {};
  if (::fstat(fd, &st) != 0) return ErrnoStatus(errno, "stat log file");
  constexpr int64_t kBlock = 1024;
  const int64_t size = st.st_size;
  int64_t left = 0, count = 0;
  std::string buf;
  for (int64_t right = size; right > 0 && count <= n; right -= kBlock) {
    left = std::max<int64_t>(right - kBlock, 0);
    buf.resize(static_cast<size_t>(right - left));
    ssize_t got = ::pread(fd, buf.data(), buf.size(), left);
    if (got < 0) return ErrnoStatus(errno, "read log file");
    buf.resize(static_cast<size_t>(got));
    count += std::count(buf.begin(), buf.end(), '\n');
  }
  // `buf` is the block at `left`; drop lines from its front until n are left.
  size_t pos = 0;
  for (; count > n; --count) {
    size_t nl = buf.find('\n', pos);
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  return left + static_cast<int64_t>(pos);
}

namespace {

// Writes records like kubelet's logWriter: since filter, timestamp prefix at line starts,
// byte limit, stream choice.
class LogWriter {
 public:
  LogWriter(const LogReadOptions& o, std::ostream& out, std::ostream& err)
      : o_(o), out_(out), err_(err), remain_(o.limit_bytes < 0 ? INT64_MAX : o.limit_bytes) {}

  // false once the byte limit is reached.
  bool Write(const LogRecord& r, bool at_line_start) {
    if (o_.since_nanos && r.unix_nanos < *o_.since_nanos) return true;
    std::string line;
    if (o_.timestamps && at_line_start) {
      line = FormatRfc3339NanoAt(r.unix_nanos, r.offset_seconds) + " ";
    }
    line += r.content;
    if (static_cast<int64_t>(line.size()) > remain_) line.resize(static_cast<size_t>(remain_));
    if (r.is_stderr ? !o_.stderr_stream : !o_.stdout_stream) return true;
    std::ostream& s = r.is_stderr ? err_ : out_;
    s << line;
    s.flush();
    remain_ -= static_cast<int64_t>(line.size());
    return remain_ > 0;
  }

 private:
  const LogReadOptions& o_;
  std::ostream& out_;
  std::ostream& err_;
  int64_t remain_;
};

Result<UniqueFd> OpenLog(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    return ErrnoStatus(e, "failed to open log file \"" + path + "\"");
  }
  return UniqueFd(fd);
}

// Whether `path` now names a different file than `fd` (the log was rotated or recreated).
bool Replaced(const std::string& path, int fd) {
  struct stat a {
  }, b{};
  if (::stat(path.c_str(), &a) != 0 || ::fstat(fd, &b) != 0) return false;
  return a.st_ino != b.st_ino || a.st_dev != b.st_dev;
}

}  // namespace

Status ReadCriLog(const std::string& path, const LogReadOptions& options, std::ostream& out,
                  std::ostream& err, std::ostream& notes) {
  auto fd = OpenLog(path);
  if (!fd.ok()) return fd.status();
  auto start = TailStartOffset(fd->get(), options.tail);
  if (!start.ok())
    return start.status().Wrap("failed to tail " + std::to_string(options.tail) +
                               " lines of log file \"" + path + "\"");
  int64_t offset = *start;
  const bool limited = options.tail >= 0 && !options.follow;
  int64_t limited_left = options.tail;
  LogWriter writer(options, out, err);
  bool at_line_start = true;
  bool running = true;  // with follow: false once still_running() said so
  std::string pending;  // bytes read but not yet a full line
  auto last_check = std::chrono::steady_clock::now();
  char buf[64 * 1024];

  while (true) {
    if (limited && limited_left == 0) return OkStatus();
    ssize_t got = ::pread(fd->get(), buf, sizeof buf, offset);
    if (got < 0) return ErrnoStatus(errno, "read log file \"" + path + "\"");
    offset += got;
    pending.append(buf, static_cast<size_t>(got));
    size_t pos = 0;
    for (size_t nl; (nl = pending.find('\n', pos)) != std::string::npos; pos = nl + 1) {
      if (limited && limited_left == 0) return OkStatus();
      std::string_view line(pending.data() + pos, nl + 1 - pos);
      auto record = ParseCriLogLine(line);
      if (!record.ok()) {
        notes << "berthctl: failed when parsing line in log file " << path << ": "
              << record.status().message() << "\n";
        continue;
      }
      if (!writer.Write(*record, at_line_start)) return OkStatus();
      if (limited) --limited_left;
      at_line_start = record->content.empty() || record->content.back() == '\n';
    }
    pending.erase(0, pos);
    if (got > 0) continue;

    // At the end of the file.
    if (!options.follow || !running) {
      if (!pending.empty()) {
        // kubelet writes an incomplete last line too.
        auto record = ParseCriLogLine(pending);
        if (record.ok()) writer.Write(*record, at_line_start);
      }
      return OkStatus();
    }
    if (Replaced(path, fd->get())) {
      auto reopened = OpenLog(path);
      if (reopened.ok()) {
        *fd = std::move(*reopened);
        offset = 0;
        pending.clear();
        continue;
      }
    }
    std::this_thread::sleep_for(options.poll_interval);
    auto now = std::chrono::steady_clock::now();
    if (now - last_check >= std::chrono::seconds(1)) {
      last_check = now;
      // One more pass to the end of the file once the container is gone.
      if (options.still_running && !options.still_running()) running = false;
    }
  }
}

}  // namespace berth::cli
