#include "cri/image/registry/auth.h"

#include <curl/curl.h>

#include <cctype>
#include <memory>

#include <nlohmann/json.hpp>

namespace berth::image::registry {
namespace {

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string UrlEscape(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

// host[:port] of a URL, "" when it cannot be parsed.
std::string UrlHost(const std::string& url) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> u(curl_url(), curl_url_cleanup);
  if (curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return "";
  char* host = nullptr;
  char* port = nullptr;
  std::string out;
  if (curl_url_get(u.get(), CURLUPART_HOST, &host, 0) == CURLUE_OK) out = host;
  if (curl_url_get(u.get(), CURLUPART_PORT, &port, 0) == CURLUE_OK) out += std::string(":") + port;
  curl_free(host);
  curl_free(port);
  return out;
}

std::string CacheKey(const Challenge& c, const std::string& scope) {
  auto get = [&](const char* k) {
    auto it = c.params.find(k);
    return it == c.params.end() ? std::string() : it->second;
  };
  return get("realm") + "|" + get("service") + "|" + scope;
}

}  // namespace

std::string Base64Encode(std::string_view in) {
  std::string out;
  size_t i = 0;
  while (i + 2 < in.size()) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += {kB64[v >> 18], kB64[(v >> 12) & 63], kB64[(v >> 6) & 63], kB64[v & 63]};
    i += 3;
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += {kB64[v >> 18], kB64[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += {kB64[v >> 18], kB64[(v >> 12) & 63], kB64[(v >> 6) & 63], '='};
  }
  return out;
}

Result<std::string> Base64Decode(std::string_view in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  size_t pad = 0;
  for (char ch : in) {
    if (ch == '=') {
      ++pad;
      continue;
    }
    if (pad) return InvalidArgument("invalid base64: data after padding");
    const char* p = std::strchr(kB64, ch);
    if (!p || ch == '\0') return InvalidArgument("invalid base64 character");
    acc = (acc << 6) | static_cast<uint32_t>(p - kB64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if (pad > 2 || (in.size() % 4 != 0 && pad)) return InvalidArgument("invalid base64 padding");
  return out;
}

Result<std::pair<std::string, std::string>> AuthConfig::UserPass() const {
  if (!username.empty() || auth.empty()) return std::make_pair(username, password);
  auto decoded = Base64Decode(auth);
  if (!decoded.ok()) return InvalidArgument("auth config: \"auth\" is not valid base64");
  size_t colon = decoded->find(':');
  if (colon == std::string::npos) {
    return InvalidArgument("auth config: \"auth\" must be base64 of \"username:password\"");
  }
  return std::make_pair(decoded->substr(0, colon), decoded->substr(colon + 1));
}

std::vector<Challenge> ParseWwwAuthenticate(std::string_view h) {
  std::vector<Challenge> out;
  size_t i = 0;
  auto skip_ws = [&] {
    while (i < h.size() && (h[i] == ' ' || h[i] == '\t' || h[i] == ',')) ++i;
  };
  auto token = [&] {
    size_t s = i;
    while (i < h.size() && h[i] != ' ' && h[i] != '=' && h[i] != ',' && h[i] != '\t') ++i;
    return std::string(h.substr(s, i - s));
  };
  skip_ws();
  while (i < h.size()) {
    Challenge c;
    c.scheme = token();
    for (char& ch : c.scheme) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    for (;;) {
      skip_ws();
      size_t save = i;
      std::string key = token();
      if (key.empty() || i >= h.size() || h[i] != '=') {
        i = save;  // the next challenge's scheme
        break;
      }
      ++i;
      std::string value;
      if (i < h.size() && h[i] == '"') {
        ++i;
        while (i < h.size() && h[i] != '"') {
          if (h[i] == '\\' && i + 1 < h.size()) ++i;
          value.push_back(h[i++]);
        }
        ++i;
      } else {
        value = token();
      }
      for (char& ch : key) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      c.params[key] = value;
    }
    if (!c.scheme.empty()) out.push_back(std::move(c));
    skip_ws();
  }
  return out;
}

Authorizer::Authorizer(AuthConfig auth, HttpTimeouts timeouts)
    : auth_(std::move(auth)), timeouts_(timeouts) {}

std::string Authorizer::Cached(const std::string& host, const std::string& scope) {
  std::lock_guard lock(mu_);
  auto it = host_challenge_.find(host);
  if (it == host_challenge_.end()) return "";
  if (it->second.scheme == "basic") {
    auto up = auth_.UserPass();
    if (!up.ok()) return "";
    return "Basic " + Base64Encode(up->first + ":" + up->second);
  }
  if (!auth_.registry_token.empty()) return "Bearer " + auth_.registry_token;
  auto t = tokens_.find(CacheKey(it->second, scope));
  if (t == tokens_.end() || t->second.expires <= std::chrono::steady_clock::now()) return "";
  return "Bearer " + t->second.value;
}

Result<std::string> Authorizer::Answer(const std::string& host, const std::string& scope,
                                       const std::vector<Challenge>& challenges,
                                       const TlsSettings& tls) {
  const Challenge* bearer = nullptr;
  const Challenge* basic = nullptr;
  for (const Challenge& c : challenges) {
    if (c.scheme == "bearer" && !bearer) bearer = &c;
    if (c.scheme == "basic" && !basic) basic = &c;
  }
  if (bearer) {
    {
      std::lock_guard lock(mu_);
      host_challenge_[host] = *bearer;
    }
    if (!auth_.registry_token.empty()) return "Bearer " + auth_.registry_token;
    auto token = FetchToken(host, *bearer, scope, tls);
    if (!token.ok()) return token.status();
    return "Bearer " + *token;
  }
  if (basic) {
    auto up = auth_.UserPass();
    if (!up.ok()) return up.status();
    if (up->first.empty()) {
      return Status(StatusCode::kUnauthenticated,
                    "registry " + host + " requires a username and password (basic auth)");
    }
    std::lock_guard lock(mu_);
    host_challenge_[host] = *basic;
    return "Basic " + Base64Encode(up->first + ":" + up->second);
  }
  return Status(StatusCode::kUnauthenticated,
                "registry " + host + " asked for authentication with an unsupported scheme");
}

Result<std::string> Authorizer::FetchToken(const std::string& host, const Challenge& c,
                                           const std::string& scope, const TlsSettings& tls) {
  auto realm_it = c.params.find("realm");
  if (realm_it == c.params.end() || realm_it->second.empty()) {
    return Status(StatusCode::kUnauthenticated,
                  "registry " + host + " sent a Bearer challenge without a realm");
  }
  const std::string& realm = realm_it->second;
  std::string service = c.params.count("service") ? c.params.at("service") : "";
  // Prefer the scope the registry asked for; fall back to ours (the registry may omit it).
  std::string want_scope = c.params.count("scope") ? c.params.at("scope") : scope;
  std::string key = CacheKey(c, want_scope);
  {
    std::lock_guard lock(mu_);
    auto t = tokens_.find(key);
    if (t != tokens_.end() && t->second.expires > std::chrono::steady_clock::now()) {
      return t->second.value;
    }
  }

  HttpRequest req;
  auto up = auth_.UserPass();
  if (!up.ok()) return up.status();
  if (!auth_.identity_token.empty()) {
    req.method = "POST";
    req.url = realm;
    req.headers.push_back("Content-Type: application/x-www-form-urlencoded");
    req.body = "grant_type=refresh_token&client_id=berth&service=" + UrlEscape(service) +
               "&scope=" + UrlEscape(want_scope) +
               "&refresh_token=" + UrlEscape(auth_.identity_token);
  } else {
    req.url = realm + (realm.find('?') == std::string::npos ? "?" : "&") +
              "service=" + UrlEscape(service);
    if (!want_scope.empty()) req.url += "&scope=" + UrlEscape(want_scope);
    if (!up->first.empty()) {
      req.headers.push_back("Authorization: Basic " + Base64Encode(up->first + ":" + up->second));
    }
  }
  TlsSettings realm_tls = UrlHost(realm) == host ? tls : TlsSettings{};
  HttpResponse r = PerformHttp(req, realm_tls, timeouts_);
  if (!r.transport_ok()) return TransportStatus(r, realm).Wrap("get registry token");
  if (r.status == 401 || r.status == 403) {
    return Status(
        StatusCode::kUnauthenticated,
        "token server " + realm + " refused the credentials (HTTP " + std::to_string(r.status) +
            ")" +
            (up->first.empty() && auth_.identity_token.empty() ? "; no credentials were given"
                                                               : ""));
  }
  if (r.status != 200) {
    return Unavailable("token server " + realm + " answered HTTP " + std::to_string(r.status));
  }
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Unavailable("token server " + realm + " returned something that is not JSON");
  }
  std::string token;
  if (j.contains("token") && j["token"].is_string()) token = j["token"];
  if (token.empty() && j.contains("access_token") && j["access_token"].is_string()) {
    token = j["access_token"];
  }
  if (token.empty()) return Unavailable("token server " + realm + " returned no token");
  int64_t expires_in = 60;  // the spec's default
  if (j.contains("expires_in") && j["expires_in"].is_number_integer()) {
    expires_in = std::max<int64_t>(j["expires_in"].get<int64_t>(), 1);
  }
  // Renew a little early so a token does not expire between use and arrival.
  auto expires = std::chrono::steady_clock::now() +
                 std::chrono::seconds(std::max<int64_t>(expires_in - 10, 1));
  std::lock_guard lock(mu_);
  tokens_[key] = Token{token, expires};
  return token;
}

}  // namespace berth::image::registry
