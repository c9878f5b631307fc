#pragma once
// Registry authentication: credentials (shaped like CRI's AuthConfig), WWW-Authenticate
// challenges, and an Authorizer that answers them (Basic, or the Bearer token flow of the
// distribution spec) and caches tokens per scope until they expire.
//
// Token flow: a 401 with `Bearer realm="…",service="…",scope="…"` → GET realm?service&scope
// (with Basic credentials when we have a username/password) → {"token"|"access_token",
// "expires_in", "issued_at"}. With an identity_token the token comes from an OAuth2 POST
// (grant_type=refresh_token). A registry_token is used as the bearer token directly.

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "cri/image/registry/http.h"

namespace berth::image::registry {

// Mirrors runtime.v1.AuthConfig.
struct AuthConfig {
  std::string username;
  std::string password;
  std::string auth;            // base64("user:pass"); used when username is empty
  std::string server_address;  // informational (which registry these are for)
  std::string identity_token;  // OAuth2 refresh token
  std::string registry_token;  // bearer token used as is

  bool empty() const {
    return username.empty() && password.empty() && auth.empty() && identity_token.empty() &&
           registry_token.empty();
  }
  // username/password, decoding `auth` when needed. INVALID_ARGUMENT for a malformed `auth`.
  Result<std::pair<std::string, std::string>> UserPass() const;
};

struct Challenge {
  std::string scheme;                         // lowercase: "bearer" | "basic"
  std::map<std::string, std::string> params;  // realm, service, scope, error, …
};

// Parses one WWW-Authenticate header value (quoted strings with escapes, commas inside quotes).
std::vector<Challenge> ParseWwwAuthenticate(std::string_view header);

std::string Base64Encode(std::string_view in);
Result<std::string> Base64Decode(std::string_view in);

// Answers challenges for one set of credentials. Thread-safe (a mutex guards the caches); token
// requests for different scopes may run concurrently, two for the same scope may both run (the
// last one wins; harmless).
class Authorizer {
 public:
  Authorizer(AuthConfig auth, HttpTimeouts timeouts);

  // The Authorization header value to send to `host` for `scope` before any challenge, from a
  // challenge seen earlier on that host (saves a 401 round trip per request). "" when none.
  std::string Cached(const std::string& host, const std::string& scope);

  // Answers a 401 from `host`: returns the Authorization header value to retry with. `tls` is
  // the endpoint's; it is used for the token realm when the realm is on the same host.
  // UNAUTHENTICATED when the challenge needs credentials we lack, or the token server refuses
  // ours; UNAVAILABLE when it cannot be reached.
  Result<std::string> Answer(const std::string& host, const std::string& scope,
                             const std::vector<Challenge>& challenges, const TlsSettings& tls);

 private:
  Result<std::string> FetchToken(const std::string& host, const Challenge& c,
                                 const std::string& scope, const TlsSettings& tls);

  struct Token {
    std::string value;
    std::chrono::steady_clock::time_point expires;
  };
  AuthConfig auth_;
  HttpTimeouts timeouts_;
  std::mutex mu_;
  std::map<std::string, Challenge> host_challenge_;  // host → last challenge answered
  std::map<std::string, Token> tokens_;              // realm|service|scope → token
};

}  // namespace berth::image::registry
