#include "cli/crictl_config.h"

#include <set>
#include <vector>

#include "cli/duration.h"
#include "common/fs.h"

namespace berth::cli {
namespace {

class LineError {
 public:
  LineError(std::string_view path, int line)
      : prefix_(std::string(path) + ":" + std::to_string(line) + ": ") {}
  Status operator()(std::string_view what) const {
    return InvalidArgument(prefix_ + std::string(what));
  }

 private:
  std::string prefix_;
};

std::string_view TrimSpace(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// Removes a trailing comment: YAML starts one at '#' preceded by whitespace (or at the start),
// so "unix:///a#b" keeps its '#'.
std::string_view StripComment(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '#' && (i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t')) return s.substr(0, i);
  }
  return s;
}

// A scalar: plain, 'single' ('' is a quote) or "double" (backslash escapes). For quoted ones,
// what follows the closing quote may only be whitespace and a comment.
Result<std::string> ParseScalar(std::string_view s, const LineError& error) {
  if (s.empty()) return std::string();
  const char q = s.front();
  if (q != '\'' && q != '"') {
    std::string_view v = TrimSpace(StripComment(s));
    if (!v.empty() && std::string_view("[]{}&*!|>%@`").find(v.front()) != std::string_view::npos) {
      return error("value \"" + std::string(v) +
                   "\" uses YAML syntax crictl.yaml does not need; quote it");
    }
    return std::string(v);
  }
  std::string out;
  size_t i = 1;
  for (;; ++i) {
    if (i >= s.size()) return error("unterminated quoted value");
    char c = s[i];
    if (c == q) {
      if (q == '\'' && i + 1 < s.size() && s[i + 1] == '\'') {
        out += '\'';
        ++i;
        continue;
      }
      break;
    }
    if (q == '"' && c == '\\') {
      if (++i >= s.size()) return error("unterminated quoted value");
      switch (s[i]) {
        case '\\':
          out += '\\';
          break;
        case '"':
          out += '"';
          break;
        case '/':
          out += '/';
          break;
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case '0':
          out += '\0';
          break;
        case ' ':
          out += ' ';
          break;
        default:
          return error(std::string("unsupported escape \"\\") + s[i] + "\" in quoted value");
      }
      continue;
    }
    out += c;
  }
  std::string_view rest = TrimSpace(s.substr(i + 1));
  if (!rest.empty() && rest.front() != '#') return error("unexpected text after quoted value");
  return out;
}

// Go's strconv.ParseBool, which crictl uses: 1 t T TRUE true True / 0 f F FALSE false False.
std::optional<bool> ParseGoBool(std::string_view v) {
  for (std::string_view t : {"1", "t", "T", "TRUE", "true", "True"}) {
    if (v == t) return true;
  }
  for (std::string_view f : {"0", "f", "F", "FALSE", "false", "False"}) {
    if (v == f) return false;
  }
  return std::nullopt;
}

std::optional<int64_t> ParseInt(std::string_view v) {
  if (v.empty() || v.size() > 18) return std::nullopt;
  int64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return n;
}

Status SetBool(std::string_view key, const std::string& value, std::optional<bool>& out,
               const LineError& error) {
  auto b = ParseGoBool(value);
  if (!b) return error(std::string(key) + ": expected true or false, got \"" + value + "\"");
  out = *b;
  return OkStatus();
}

constexpr std::string_view kKeys =
    "runtime-endpoint, image-endpoint, timeout, debug, pull-image-on-create, "
    "disable-pull-on-run, max-retries, enable-streaming";

Status SetKey(std::string_view key, const std::string& value, CrictlConfig& config,
              const LineError& error) {
  if (key == "runtime-endpoint") {
    if (!value.empty()) config.runtime_endpoint = value;
  } else if (key == "image-endpoint") {
    if (!value.empty()) config.image_endpoint = value;
  } else if (key == "timeout") {
    // crictl reads whole seconds; a duration ("10s") is accepted too since the flag takes one.
    auto d = ParseDuration(value);
    if (!d.ok())
      return error("timeout: expected seconds or a duration like \"10s\", got \"" + value + "\"");
    if (d->count() != 0) config.timeout = *d;  // crictl: 0 means "not set"
  } else if (key == "debug") {
    return SetBool(key, value, config.debug, error);
  } else if (key == "pull-image-on-create") {
    return SetBool(key, value, config.pull_image_on_create, error);
  } else if (key == "disable-pull-on-run") {
    return SetBool(key, value, config.disable_pull_on_run, error);
  } else if (key == "enable-streaming") {
    return SetBool(key, value, config.enable_streaming, error);
  } else if (key == "max-retries") {
    auto n = ParseInt(value);
    if (!n) return error("max-retries: expected a whole number, got \"" + value + "\"");
    config.max_retries = *n;
  } else {
    return error("unknown key \"" + std::string(key) + "\" (known keys: " + std::string(kKeys) +
                 ")");
  }
  return OkStatus();
}

}  // namespace

Result<CrictlConfig> ParseCrictlConfig(std::string_view text, std::string_view path) {
  CrictlConfig config;
  std::set<std::string, std::less<>> seen;
  int line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view raw = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++line_no;
    LineError error(path, line_no);

    if (line_no == 1 && raw.substr(0, 3) == "\xEF\xBB\xBF") raw.remove_prefix(3);  // UTF-8 BOM
    // Comments are stripped per part below, not here: a quoted value may contain " #".
    std::string_view bare = TrimSpace(StripComment(raw));
    if (bare.empty() || bare == "---" || bare == "...") continue;
    std::string_view line = TrimSpace(raw);
    if (raw.front() == ' ' || raw.front() == '\t') {
      return error("unexpected indentation: crictl.yaml is a flat list of \"key: value\" lines");
    }

    // The key ends at the first ": " (or a ':' ending the line); keys may be quoted too.
    std::string key;
    std::string_view rest;
    if (line.front() == '"' || line.front() == '\'') {
      size_t close = line.find(line.front(), 1);
      if (close == std::string_view::npos) return error("unterminated quoted key");
      key = std::string(line.substr(1, close - 1));
      rest = TrimSpace(line.substr(close + 1));
      if (rest.empty() || rest.front() != ':') return error("expected \":\" after key");
      rest.remove_prefix(1);
    } else {
      // An unquoted key holds no " #", so the colon is searched for before any comment.
      size_t colon = std::string_view::npos;
      for (size_t i = 0; i < bare.size(); ++i) {
        if (bare[i] == ':' && (i + 1 == bare.size() || bare[i + 1] == ' ' || bare[i + 1] == '\t')) {
          colon = i;
          break;
        }
      }
      if (colon == std::string_view::npos) {
        return error("expected \"key: value\", got \"" + std::string(bare) + "\"");
      }
      key = std::string(TrimSpace(line.substr(0, colon)));
      rest = line.substr(colon + 1);
    }
    if (key.empty()) return error("empty key");
    if (seen.contains(key)) return error("key \"" + key + "\" is set twice");
    seen.insert(key);

    auto value = ParseScalar(TrimSpace(rest), error);
    if (!value.ok()) return value.status();
    BERTH_RETURN_IF_ERROR(SetKey(key, *value, config, error));
  }
  return config;
}

Result<CrictlConfig> LoadCrictlConfig(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  return ParseCrictlConfig(*text, path);
}

}  // namespace berth::cli
