#include "cli/input/yaml_subset.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <string>
#include <vector>

namespace berth::cli {
namespace {

using nlohmann::json;

struct Line {
  int number;        // 1-based, for messages
  int indent;        // columns of leading spaces
  std::string text;  // without indentation, comment or trailing space
};

class Parser {
 public:
  Parser(std::vector<Line> lines, std::string_view what) : lines_(std::move(lines)), what_(what) {}

  Result<json> Document() {
    if (lines_.empty()) return json();
    auto v = Node(lines_[0].indent);
    if (!v.ok()) return v;
    if (pos_ < lines_.size()) return Error(lines_[pos_], "unexpected indentation");
    return v;
  }

 private:
  Status Error(const Line& l, std::string_view problem) const {
    return InvalidArgument(std::string(what_) + ":" + std::to_string(l.number) + ": " +
                           std::string(problem));
  }

  static bool IsSequenceItem(const std::string& t) {
    return t == "-" || (t.size() >= 2 && t[0] == '-' && t[1] == ' ');
  }

  // The block node whose first line is lines_[pos_], at column `indent`.
  Result<json> Node(int indent) {
    const Line& first = lines_[pos_];
    if (IsSequenceItem(first.text)) return Sequence(indent);
    auto colon = FindMappingColon(first.text);
    if (!colon.ok()) return Error(first, colon.status().message());
    if (*colon != std::string::npos) return Mapping(indent);
    // A lone scalar (a document or an item that is just a value).
    ++pos_;
    return Scalar(first.text, first);
  }

  Result<json> Sequence(int indent) {
    json seq = json::array();
    while (pos_ < lines_.size() && lines_[pos_].indent == indent &&
           IsSequenceItem(lines_[pos_].text)) {
      Line& l = lines_[pos_];
      std::string rest = l.text.size() > 1 ? l.text.substr(2) : "";
      size_t skip = 0;
      while (skip < rest.size() && rest[skip] == ' ') ++skip;
      rest.erase(0, skip);
      if (rest.empty()) {
        ++pos_;
        if (pos_ < lines_.size() && lines_[pos_].indent > indent) {
          auto v = Node(lines_[pos_].indent);
          if (!v.ok()) return v;
          seq.push_back(std::move(*v));
        } else {
          seq.push_back(json());
        }
        continue;
      }
      // The item's content becomes a line of its own at its column; a mapping started here
      // continues on the following lines at that column.
      l.indent = indent + 2 + static_cast<int>(skip);
      l.text = rest;
      auto v = Node(l.indent);
      if (!v.ok()) return v;
      seq.push_back(std::move(*v));
    }
    if (pos_ < lines_.size() && lines_[pos_].indent > indent) {
      return Error(lines_[pos_], "unexpected indentation");
    }
    return seq;
  }

  Result<json> Mapping(int indent) {
    json map = json::object();
    while (pos_ < lines_.size() && lines_[pos_].indent == indent) {
      const Line& l = lines_[pos_];
      if (IsSequenceItem(l.text)) return Error(l, "a sequence item where a key was expected");
      auto colon = FindMappingColon(l.text);
      if (!colon.ok()) return Error(l, colon.status().message());
      if (*colon == std::string::npos) return Error(l, "expected \"key: value\"");
      auto key = Key(l.text.substr(0, *colon), l);
      if (!key.ok()) return key.status();
      if (map.contains(*key)) return Error(l, "key \"" + *key + "\" appears twice");
      std::string value = l.text.substr(*colon + 1);
      size_t skip = 0;
      while (skip < value.size() && value[skip] == ' ') ++skip;
      value.erase(0, skip);
      ++pos_;
      if (!value.empty()) {
        auto v = Scalar(value, l);
        if (!v.ok()) return v;
        map[*key] = std::move(*v);
        continue;
      }
      // The value is the block below: deeper lines, or a sequence at this same column.
      if (pos_ < lines_.size() &&
          (lines_[pos_].indent > indent ||
           (lines_[pos_].indent == indent && IsSequenceItem(lines_[pos_].text)))) {
        auto v = Node(lines_[pos_].indent);
        if (!v.ok()) return v;
        map[*key] = std::move(*v);
      } else {
        map[*key] = json();
      }
    }
    if (pos_ < lines_.size() && lines_[pos_].indent > indent) {
      return Error(lines_[pos_], "unexpected indentation");
    }
    return map;
  }

  // Where the ':' ending a mapping key is ("key: v", "key:", "'k': v"); npos when the line is
  // not a mapping entry.
  static Result<size_t> FindMappingColon(const std::string& t) {
    size_t i = 0;
    if (!t.empty() && (t[0] == '"' || t[0] == '\'')) {
      auto end = QuotedEnd(t, 0);
      if (!end.ok()) return end.status();
      i = *end;
      if (i < t.size() && t[i] == ':' && (i + 1 == t.size() || t[i + 1] == ' ')) return i;
      return std::string::npos;
    }
    if (!t.empty() && (t[0] == '[' || t[0] == '{')) return std::string::npos;
    for (; i < t.size(); ++i) {
      if (t[i] == ':' && (i + 1 == t.size() || t[i + 1] == ' ')) return i;
    }
    return std::string::npos;
  }

  // Index just past the closing quote of the quoted scalar starting at t[start].
  static Result<size_t> QuotedEnd(std::string_view t, size_t start) {
    const char q = t[start];
    for (size_t i = start + 1; i < t.size(); ++i) {
      if (q == '"' && t[i] == '\\') {
        ++i;
        continue;
      }
      if (t[i] == q) {
        if (q == '\'' && i + 1 < t.size() && t[i + 1] == '\'') {
          ++i;
          continue;
        }
        return i + 1;
      }
    }
    return InvalidArgument("unterminated quoted string (multi-line strings are not supported)");
  }

  Result<std::string> Key(std::string k, const Line& l) {
    while (!k.empty() && k.back() == ' ') k.pop_back();
    if (k.empty()) return Error(l, "empty key");
    if (k[0] == '"' || k[0] == '\'') {
      auto v = Quoted(k, l);
      if (!v.ok()) return v.status();
      return *v;
    }
    if (std::string_view("[]{}&*!|>%@`?").find(k[0]) != std::string_view::npos) {
      return Error(l, "unsupported YAML syntax in key \"" + k + "\"");
    }
    return k;
  }

  Result<std::string> Quoted(std::string_view s, const Line& l) {
    auto end = QuotedEnd(s, 0);
    if (!end.ok()) return Error(l, end.status().message());
    if (*end != s.size()) return Error(l, "unexpected text after a quoted string");
    std::string out;
    const char q = s[0];
    for (size_t i = 1; i + 1 < s.size(); ++i) {
      char c = s[i];
      if (q == '\'') {
        if (c == '\'') ++i;  // '' is a quote
        out += c;
        continue;
      }
      if (c != '\\') {
        out += c;
        continue;
      }
      char e = s[++i];
      switch (e) {
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
        case '\\':
          out += '\\';
          break;
        case '"':
          out += '"';
          break;
        case '/':
          out += '/';
          break;
        case ' ':
          out += ' ';
          break;
        case 'x':
        case 'u':
        case 'U': {
          size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          if (i + n >= s.size()) return Error(l, "bad escape in a quoted string");
          std::string hex(s.substr(i + 1, n));
          char* endp = nullptr;
          unsigned long cp = std::strtoul(hex.c_str(), &endp, 16);
          if (*endp != '\0') return Error(l, "bad escape in a quoted string");
          i += n;
          AppendUtf8(out, static_cast<uint32_t>(cp));
          break;
        }
        default:
          return Error(l, std::string("unsupported escape \\") + e);
      }
    }
    return out;
  }

  static void AppendUtf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xc0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xe0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }

  // A value written on one line: quoted, flow collection or plain.
  Result<json> Scalar(std::string_view s, const Line& l) {
    if (s.empty()) return json();
    if (s[0] == '"' || s[0] == '\'') {
      auto v = Quoted(s, l);
      if (!v.ok()) return v.status();
      return json(*v);
    }
    if (s[0] == '[' || s[0] == '{') {
      size_t i = 0;
      auto v = Flow(s, i, l);
      if (!v.ok()) return v;
      while (i < s.size() && s[i] == ' ') ++i;
      if (i != s.size()) return Error(l, "unexpected text after a flow collection");
      return v;
    }
    if (s[0] == '|' || s[0] == '>') return Error(l, "block scalars (| and >) are not supported");
    if (std::string_view("&*!%@`").find(s[0]) != std::string_view::npos) {
      return Error(l, "anchors, aliases and tags are not supported");
    }
    return Plain(s);
  }

  static json Plain(std::string_view s) {
    std::string lower;
    for (char c : s) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (s == "~" || lower == "null") return json();
    if (lower == "true" || lower == "yes" || lower == "on") return json(true);
    if (lower == "false" || lower == "no" || lower == "off") return json(false);
    std::string str(s);
    bool numeric = !str.empty();
    size_t i = (str[0] == '-' || str[0] == '+') ? 1 : 0;
    if (i == str.size()) numeric = false;
    bool dot = false, digit = false;
    for (size_t j = i; j < str.size() && numeric; ++j) {
      if (std::isdigit(static_cast<unsigned char>(str[j]))) {
        digit = true;
      } else if (str[j] == '.' && !dot) {
        dot = true;
      } else {
        numeric = false;
      }
    }
    if (numeric && digit) {
      errno = 0;
      if (!dot) {
        char* end = nullptr;
        long long v = std::strtoll(str.c_str(), &end, 10);
        if (errno == 0 && *end == '\0') return json(static_cast<int64_t>(v));
      } else {
        char* end = nullptr;
        double v = std::strtod(str.c_str(), &end);
        if (errno == 0 && *end == '\0') return json(v);
      }
    }
    return json(str);
  }

  // A flow collection starting at s[i] ('[' or '{'); leaves i past its end.
  Result<json> Flow(std::string_view s, size_t& i, const Line& l) {
    const char open = s[i];
    const char close = open == '[' ? ']' : '}';
    json out = open == '[' ? json::array() : json::object();
    ++i;
    auto skip_space = [&] {
      while (i < s.size() && s[i] == ' ') ++i;
    };
    skip_space();
    if (i < s.size() && s[i] == close) {
      ++i;
      return out;
    }
    for (;;) {
      skip_space();
      if (i >= s.size()) return Error(l, "unterminated flow collection (keep it on one line)");
      std::string key;
      if (open == '{') {
        auto k = FlowItem(s, i, l, /*is_key=*/true);
        if (!k.ok()) return k;
        if (!k->is_string()) return Error(l, "flow mapping keys must be strings");
        key = k->get<std::string>();
        skip_space();
        if (i >= s.size() || s[i] != ':') return Error(l, "expected ':' in a flow mapping");
        ++i;
        skip_space();
      }
      auto v = FlowItem(s, i, l, /*is_key=*/false);
      if (!v.ok()) return v;
      if (open == '[') {
        out.push_back(std::move(*v));
      } else {
        if (out.contains(key)) return Error(l, "key \"" + key + "\" appears twice");
        out[key] = std::move(*v);
      }
      skip_space();
      if (i >= s.size()) return Error(l, "unterminated flow collection (keep it on one line)");
      if (s[i] == close) {
        ++i;
        return out;
      }
      if (s[i] != ',') return Error(l, "expected ',' or the end of a flow collection");
      ++i;
    }
  }

  Result<json> FlowItem(std::string_view s, size_t& i, const Line& l, bool is_key) {
    if (s[i] == '[' || s[i] == '{') return Flow(s, i, l);
    if (s[i] == '"' || s[i] == '\'') {
      auto end = QuotedEnd(s, i);
      if (!end.ok()) return Error(l, end.status().message());
      auto v = Quoted(s.substr(i, *end - i), l);
      if (!v.ok()) return v.status();
      i = *end;
      return json(*v);
    }
    size_t start = i;
    while (i < s.size() && s[i] != ',' && s[i] != ']' && s[i] != '}' && !(is_key && s[i] == ':')) {
      ++i;
    }
    std::string_view item = s.substr(start, i - start);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (is_key) return json(std::string(item));
    return Plain(item);
  }

  std::vector<Line> lines_;
  std::string_view what_;
  size_t pos_ = 0;
};

// Removes a comment: '#' at the start or after a space, outside quotes.
std::string StripComment(std::string_view s) {
  char quote = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (quote) {
      if (quote == '"' && c == '\\') {
        ++i;
      } else if (c == quote) {
        quote = 0;
      }
      continue;
    }
    if ((c == '"' || c == '\'') &&
        (i == 0 || std::string_view(" [{,:-").find(s[i - 1]) != std::string_view::npos)) {
      quote = c;
      continue;
    }
    if (c == '#' && (i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t'))
      return std::string(s.substr(0, i));
  }
  return std::string(s);
}

}  // namespace

Result<nlohmann::json> ParseYamlSubset(std::string_view text, std::string_view what) {
  std::vector<Line> lines;
  int number = 0;
  bool document_started = false;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view raw = text.substr(start, end - start);
    start = end + 1;
    ++number;
    if (number == 1 && raw.substr(0, 3) == "\xEF\xBB\xBF") raw.remove_prefix(3);  // BOM
    std::string line = StripComment(raw);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) {
      line.pop_back();
    }
    size_t indent = 0;
    while (indent < line.size() && line[indent] == ' ') ++indent;
    if (indent == line.size()) continue;  // blank or comment
    if (line[indent] == '\t') {
      return InvalidArgument(std::string(what) + ":" + std::to_string(number) +
                             ": tabs are not allowed in indentation");
    }
    std::string content = line.substr(indent);
    if (indent == 0 && (content == "---" || content.rfind("--- ", 0) == 0)) {
      if (document_started || !lines.empty()) {
        return InvalidArgument(std::string(what) + ":" + std::to_string(number) +
                               ": only one YAML document is supported");
      }
      document_started = true;
      content.erase(0, 3);
      while (!content.empty() && content.front() == ' ') content.erase(0, 1);
      if (content.empty()) continue;
    }
    if (indent == 0 && content == "...") break;
    lines.push_back({number, static_cast<int>(indent), std::move(content)});
    if (end == text.size()) break;
  }
  Parser parser(std::move(lines), what);
  return parser.Document();
}

}  // namespace berth::cli
