#include "cli/output/yaml.h"

#include <array>
#include <cctype>
#include <string_view>

namespace berth::cli {
namespace {

using nlohmann::json;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Words a YAML 1.1 reader (go-yaml v2, PyYAML) would turn into a bool or null.
bool IsReservedWord(std::string_view s) {
  static constexpr std::array<std::string_view, 12> kWords = {
      "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~", ".inf", ".nan"};
  std::string lower = Lower(s);
  for (std::string_view w : kWords) {
    if (lower == w) return true;
  }
  return false;
}

// True when `s` can be written as a plain scalar and reads back as this same string.
bool CanBePlain(std::string_view s) {
  if (s.empty() || IsReservedWord(s)) return false;
  const unsigned char first = static_cast<unsigned char>(s.front());
  // Indicators, and the starts of numbers, timestamps and .inf/.nan, which might not be strings.
  if (std::string_view("-?:,[]{}#&*!|>'\"%@` ").find(static_cast<char>(first)) !=
          std::string_view::npos ||
      std::isdigit(first) || first == '+' || first == '.') {
    return false;
  }
  if (s.back() == ' ' || s.back() == ':') return false;
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) return false;  // control characters, tabs, newlines
    if (c >= 0x80) return false;  // quoting validates UTF-8 (invalid sequences become U+FFFD)
    if (c == ':' && i + 1 < s.size() && s[i + 1] == ' ') return false;
    if (c == '#' && s[i - 1] == ' ') return false;  // i > 0: the first char is not '#'
  }
  return true;
}

std::string Scalar(const json& v) {
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (CanBePlain(s)) return s;
    // JSON string escapes are all valid in YAML double-quoted scalars.
    return v.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  if (v.is_null()) return "null";
  if (v.is_object()) return "{}";  // only reached for empty ones
  if (v.is_array()) return "[]";
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string Key(const std::string& k) { return Scalar(json(k)); }

void Indent(std::string& out, int n) { out.append(static_cast<size_t>(n), ' '); }

void EmitSequence(const json& seq, int indent, bool first_inline, std::string& out);

// A non-empty mapping at column `indent`. With `first_inline` the first line's indentation has
// already been written (the mapping starts after "- " of a sequence item).
void EmitMapping(const json& map, int indent, bool first_inline, std::string& out) {
  bool first = true;
  for (const auto& [k, v] : map.items()) {
    if (!(first && first_inline)) Indent(out, indent);
    first = false;
    out += Key(k);
    out += ':';
    if (v.is_object() && !v.empty()) {
      out += '\n';
      EmitMapping(v, indent + 2, false, out);
    } else if (v.is_array() && !v.empty()) {
      out += '\n';
      EmitSequence(v, indent, false, out);  // go-yaml does not indent these
    } else {
      out += ' ';
      out += Scalar(v);
      out += '\n';
    }
  }
}

void EmitSequence(const json& seq, int indent, bool first_inline, std::string& out) {
  bool first = true;
  for (const json& item : seq) {
    if (!(first && first_inline)) Indent(out, indent);
    first = false;
    out += "- ";
    if (item.is_object() && !item.empty()) {
      EmitMapping(item, indent + 2, true, out);
    } else if (item.is_array() && !item.empty()) {
      EmitSequence(item, indent + 2, true, out);
    } else {
      out += Scalar(item);
      out += '\n';
    }
  }
}

}  // namespace

std::string JsonToYaml(const json& value) {
  std::string out;
  if (value.is_object() && !value.empty()) {
    EmitMapping(value, 0, false, out);
  } else if (value.is_array() && !value.empty()) {
    EmitSequence(value, 0, false, out);
  } else {
    out = Scalar(value) + "\n";
  }
  return out;
}

}  // namespace berth::cli
