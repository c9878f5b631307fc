#pragma once
// Levelled, structured (logfmt) logging to stderr, journald-friendly:
//   time=2026-11-28T13:00:00.123Z level=info component=plugin_host msg="loaded" name=cni
//
// A Logger is a small value passed to whoever needs it (no global logger). Copies share the
// sink; With() returns a copy that adds fixed fields to every line. Thread-safe: each line is
// formatted in full and handed to the sink in one call; the default sink does one write(2).

#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// "debug" | "info" | "warn" (or "warning") | "error"; nullopt for anything else.
std::optional<LogLevel> ParseLogLevel(std::string_view name);
std::string_view LogLevelName(LogLevel level);

struct LogField {
  LogField(std::string_view k, std::string_view v) : key(k), value(v) {}
  LogField(std::string_view k, const std::string& v) : key(k), value(v) {}
  LogField(std::string_view k, const char* v) : key(k), value(v) {}
  LogField(std::string_view k, long long v) : key(k), value(std::to_string(v)) {}
  LogField(std::string_view k, int v) : key(k), value(std::to_string(v)) {}
  LogField(std::string_view k, unsigned long v) : key(k), value(std::to_string(v)) {}
  LogField(std::string_view k, bool v) : key(k), value(v ? "true" : "false") {}
  std::string key;
  std::string value;
};

class Logger {
 public:
  // Receives one complete line, newline included.
  using Sink = std::function<void(std::string_view line)>;

  explicit Logger(LogLevel min_level = LogLevel::kInfo, Sink sink = nullptr);

  Logger With(std::initializer_list<LogField> fields) const;
  bool Enabled(LogLevel level) const { return level >= state_->min_level; }

  void Log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields = {}) const;
  void Debug(std::string_view m, std::initializer_list<LogField> f = {}) const {
    Log(LogLevel::kDebug, m, f);
  }
  void Info(std::string_view m, std::initializer_list<LogField> f = {}) const {
    Log(LogLevel::kInfo, m, f);
  }
  void Warn(std::string_view m, std::initializer_list<LogField> f = {}) const {
    Log(LogLevel::kWarn, m, f);
  }
  void Error(std::string_view m, std::initializer_list<LogField> f = {}) const {
    Log(LogLevel::kError, m, f);
  }

 private:
  struct State {
    LogLevel min_level;
    Sink sink;
  };
  std::shared_ptr<const State> state_;
  std::vector<LogField> fixed_;
};

}  // namespace berth
