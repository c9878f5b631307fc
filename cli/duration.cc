#include "cli/duration.h"

#include <cstdint>
#include <limits>
#include <utility>

namespace berth::cli {
namespace {

using Nanos = std::chrono::nanoseconds;

struct Unit {
  std::string_view name;
  int64_t nanos;
};

// Longest names first is not needed: the unit is the whole run of non-digit characters.
constexpr Unit kUnits[] = {
    {"ns", 1},
    {"us", 1'000},
    {"\xC2\xB5s", 1'000},  // U+00B5 MICRO SIGN, as Go accepts
    {"\xCE\xBCs", 1'000},  // U+03BC GREEK SMALL LETTER MU, likewise
    {"ms", 1'000'000},
    {"s", 1'000'000'000},
    {"m", 60'000'000'000},
    {"h", 3'600'000'000'000},
};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

Status Invalid(std::string_view text, std::string_view why) {
  return InvalidArgument("invalid duration \"" + std::string(text) + "\": " + std::string(why));
}

// Reads "123" or "123.45" (either side may be empty, not both) from the front of `s`.
// Integer arithmetic as Go does, so "0.1s" is exactly 100ms: the value is whole + frac/scale.
struct Number {
  uint64_t whole = 0;
  uint64_t frac = 0;
  uint64_t scale = 1;
  bool overflow = false;
};

bool ReadNumber(std::string_view& s, Number& n) {
  size_t i = 0;
  size_t digits = 0;
  for (; i < s.size() && IsDigit(s[i]); ++i, ++digits) {
    uint64_t d = static_cast<uint64_t>(s[i] - '0');
    if (n.whole > (std::numeric_limits<uint64_t>::max() - d) / 10) n.overflow = true;
    n.whole = n.whole * 10 + d;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    for (; i < s.size() && IsDigit(s[i]); ++i, ++digits) {
      // Digits beyond nanosecond precision of the largest unit cannot change the result.
      if (n.scale > std::numeric_limits<uint64_t>::max() / 100) continue;
      n.frac = n.frac * 10 + static_cast<uint64_t>(s[i] - '0');
      n.scale *= 10;
    }
  }
  s.remove_prefix(i);
  return digits > 0;
}

}  // namespace

Result<Nanos> ParseDuration(std::string_view text) {
  std::string_view s = text;
  if (s.empty()) return Invalid(text, "empty");
  if (s.front() == '-') return Invalid(text, "must not be negative");
  if (s.front() == '+') s.remove_prefix(1);
  if (s == "0") return Nanos(0);

  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  uint64_t total = 0;
  bool first = true;
  while (!s.empty()) {
    Number n;
    if (!ReadNumber(s, n)) return Invalid(text, "expected a number");
    size_t unit_len = 0;
    while (unit_len < s.size() && !IsDigit(s[unit_len]) && s[unit_len] != '.') ++unit_len;
    std::string_view unit_name = s.substr(0, unit_len);
    s.remove_prefix(unit_len);

    int64_t unit = 0;
    if (unit_name.empty()) {
      // A bare number is seconds, but only on its own: "1m30" is a typo, not 1m30s.
      if (!first || !s.empty()) return Invalid(text, "missing unit");
      unit = 1'000'000'000;
    } else {
      for (const Unit& u : kUnits) {
        if (u.name == unit_name) unit = u.nanos;
      }
      if (unit == 0) {
        return Invalid(
            text, "unknown unit \"" + std::string(unit_name) + "\" (use ns, us, ms, s, m or h)");
      }
    }
    const uint64_t u = static_cast<uint64_t>(unit);
    if (n.overflow || n.whole > kMax / u) return Invalid(text, "too large");
    uint64_t v = n.whole * u;
    // frac < scale <= 10^18 and unit <= 3.6e12: do this part in long double, which holds a
    // 64-bit mantissa, then round; it only contributes less than one unit.
    v += static_cast<uint64_t>(static_cast<long double>(n.frac) * static_cast<long double>(u) /
                                   static_cast<long double>(n.scale) +
                               0.5L);
    if (v > kMax || total > kMax - v) return Invalid(text, "too large");
    total += v;
    first = false;
  }
  return Nanos(static_cast<int64_t>(total));
}

std::string FormatDuration(Nanos d) {
  int64_t ns = d.count();
  if (ns == 0) return "0s";
  std::string out;
  if (ns < 0) {
    out = "-";
    ns = -ns;
  }
  // Sub-second durations in one unit ("500ms", "1500us"); longer ones as h/m/s with a
  // fractional second when needed ("1m30s", "2.5s").
  if (ns < 1'000'000'000) {
    if (ns % 1'000'000 == 0) return out + std::to_string(ns / 1'000'000) + "ms";
    if (ns % 1'000 == 0) return out + std::to_string(ns / 1'000) + "us";
    return out + std::to_string(ns) + "ns";
  }
  int64_t hours = ns / 3'600'000'000'000;
  ns %= 3'600'000'000'000;
  int64_t minutes = ns / 60'000'000'000;
  ns %= 60'000'000'000;
  if (hours > 0) out += std::to_string(hours) + "h";
  if (hours > 0 || minutes > 0) out += std::to_string(minutes) + "m";
  int64_t secs = ns / 1'000'000'000;
  int64_t frac = ns % 1'000'000'000;
  out += std::to_string(secs);
  if (frac != 0) {
    std::string f = std::to_string(frac);
    f.insert(0, 9 - f.size(), '0');
    while (f.back() == '0') f.pop_back();
    out += "." + f;
  }
  return out + "s";
}

}  // namespace berth::cli
