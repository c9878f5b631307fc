#include "cri/image/reference.h"

#include <cctype>

namespace berth::image {
namespace {

constexpr size_t kMaxNameLength = 255;
constexpr std::string_view kDefaultDomain = "docker.io";

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsWord(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// One path component: [a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)*
bool ValidPathComponent(std::string_view c) {
  if (c.empty() || !IsLowerAlnum(c.front()) || !IsLowerAlnum(c.back())) return false;
  size_t i = 0;
  while (i < c.size()) {
    if (IsLowerAlnum(c[i])) {
      ++i;
      continue;
    }
    // A separator: ".", "_", "__", or one or more "-".
    size_t j = i;
    if (c[i] == '.') {
      j = i + 1;
    } else if (c[i] == '_') {
      j = i + 1;
      if (j < c.size() && c[j] == '_') ++j;
    } else if (c[i] == '-') {
      while (j < c.size() && c[j] == '-') ++j;
    } else {
      return false;
    }
    if (j >= c.size() || !IsLowerAlnum(c[j])) return false;
    i = j;
  }
  return true;
}

// domain-component: [a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?, joined by "."; or an IPv6
// literal in brackets; either with an optional ":port".
bool ValidDomain(std::string_view d) {
  std::string_view host = d;
  std::string_view rest;
  if (!d.empty() && d.front() == '[') {
    size_t close = d.find(']');
    if (close == std::string_view::npos || close < 3) return false;
    for (char c : d.substr(1, close - 1)) {
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') return false;
    }
    host = {};
    rest = d.substr(close + 1);
  } else if (size_t colon = d.find(':'); colon != std::string_view::npos) {
    host = d.substr(0, colon);
    rest = d.substr(colon);
  }
  if (!rest.empty()) {
    if (rest.front() != ':' || rest.size() < 2) return false;
    for (char c : rest.substr(1)) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    }
  }
  if (host.empty()) return d.front() == '[';
  size_t start = 0;
  for (;;) {
    size_t dot = host.find('.', start);
    std::string_view label =
        host.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || !std::isalnum(static_cast<unsigned char>(label.front())) ||
        !std::isalnum(static_cast<unsigned char>(label.back()))) {
      return false;
    }
    for (char c : label) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool ValidTag(std::string_view t) {
  if (t.empty() || t.size() > 128 || !IsWord(t.front())) return false;
  for (char c : t) {
    if (!IsWord(c) && c != '.' && c != '-') return false;
  }
  return true;
}

bool IsHex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool HasUpper(std::string_view s) {
  for (char c : s) {
    if (c >= 'A' && c <= 'Z') return true;
  }
  return false;
}

}  // namespace

std::string Reference::String() const {
  std::string s = Name();
  if (!tag.empty()) s += ":" + tag;
  if (digest.valid()) s += "@" + digest.String();
  return s;
}

Result<Reference> ParseReference(std::string_view text) {
  auto fail = [&](std::string why) {
    return InvalidArgument("invalid reference \"" + std::string(text) + "\": " + why);
  };
  if (text.empty()) return fail("reference is empty");
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c)) ||
        !std::isprint(static_cast<unsigned char>(c))) {
      return fail("contains whitespace or control characters");
    }
  }

  Reference ref;
  std::string_view rest = text;

  // Digest: everything after the first "@".
  if (size_t at = rest.find('@'); at != std::string_view::npos) {
    auto d = Digest::Parse(rest.substr(at + 1));
    if (!d.ok()) return fail(d.status().message());
    ref.digest = *d;
    rest = rest.substr(0, at);
  }

  // Tag: after the last ":" that comes after the last "/" (a ":" before it is a port).
  size_t last_slash = rest.rfind('/');
  size_t colon = rest.rfind(':');
  if (colon != std::string_view::npos &&
      (last_slash == std::string_view::npos || colon > last_slash)) {
    std::string_view tag = rest.substr(colon + 1);
    if (!ValidTag(tag)) {
      return fail("invalid tag \"" + std::string(tag) +
                  "\" (tags are up to 128 of [A-Za-z0-9_.-] and cannot start with \".\" or \"-\")");
    }
    ref.tag = std::string(tag);
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) return fail("repository name is empty");

  // Domain: a first component with "." or ":", "localhost", or uppercase letters (which Docker
  // also treats as a domain, since a path could not contain them).
  std::string_view remainder = rest;
  std::string domain(kDefaultDomain);
  if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
    std::string_view first = rest.substr(0, slash);
    if (first.find_first_of(".:") != std::string_view::npos || first == "localhost" ||
        HasUpper(first)) {
      if (!ValidDomain(first))
        return fail("invalid registry domain \"" + std::string(first) + "\"");
      domain = std::string(first);
      remainder = rest.substr(slash + 1);
    }
  }
  if (domain == "index.docker.io") domain = std::string(kDefaultDomain);
  if (remainder.empty()) return fail("repository path is empty");

  if (HasUpper(remainder)) return fail("repository name must be lowercase");
  std::string path(remainder);
  if (domain == kDefaultDomain && path.find('/') == std::string::npos) {
    if (IsHex64(path) && ref.tag.empty() && !ref.digest.valid()) {
      return fail("a 64-character hexadecimal string is an image id, not a repository name");
    }
    path = "library/" + path;
  }
  size_t start = 0;
  for (;;) {
    size_t slash = path.find('/', start);
    std::string_view comp = std::string_view(path).substr(
        start, slash == std::string::npos ? std::string::npos : slash - start);
    if (comp.empty()) return fail("repository path has an empty component");
    if (!ValidPathComponent(comp)) {
      return fail("invalid repository path component \"" + std::string(comp) +
                  "\" (allowed: [a-z0-9] separated by \".\", \"_\", \"__\" or \"-\")");
    }
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  ref.domain = std::move(domain);
  ref.path = std::move(path);
  if (ref.Name().size() > kMaxNameLength) {
    return fail("repository name is longer than " + std::to_string(kMaxNameLength) + " characters");
  }
  if (ref.tag.empty() && !ref.digest.valid()) ref.tag = "latest";
  return ref;
}

std::string RegistryHostFor(std::string_view domain) {
  if (domain == kDefaultDomain) return "registry-1.docker.io";
  return std::string(domain);
}

}  // namespace berth::image
