#pragma once
// One HTTP exchange over libcurl, with no redirect following and no authentication logic:
// RegistryClient layers those on top so that it controls which headers go to which host.
//
// Thread-safe: each call uses its own curl easy handle. libcurl ≥ 7.84 initialises itself
// thread-safely on first use, so no global init call is needed (Debian 12 ships 7.88).

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace berth::image::registry {

struct HttpTimeouts {
  long connect_ms = 30'000;
  // Abort a transfer slower than low_speed_bytes per second for low_speed_seconds (a stalled
  // connection), rather than imposing a total deadline on big layers.
  long low_speed_seconds = 30;
  long low_speed_bytes = 1;
};

struct TlsSettings {
  bool verify = true;
  std::string ca_file;  // PEM bundle to verify this host with (instead of the system CA file)
};

struct HttpRequest {
  std::string method = "GET";  // GET, HEAD, POST, PUT, PATCH
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;                  // sent for POST/PUT/PATCH
  // Receives the body of a 2xx response in chunks, with the response head (status, headers)
  // already filled in; returning false aborts the transfer. When unset the body is collected
  // into HttpResponse::body (up to max_body bytes).
  std::function<bool(const struct HttpResponse& head, std::string_view chunk)> sink;
  int64_t max_body = int64_t{4} << 20;
};

struct HttpResponse {
  long status = 0;
  std::multimap<std::string, std::string> headers;  // names lowercased
  std::string body;  // non-2xx bodies are always collected here (truncated at 64 KiB)
  bool body_too_large = false;
  int curl_code = 0;  // CURLcode; 0 when the exchange completed
  std::string curl_error;

  // First value of header `name` (lowercase), "" when absent.
  std::string Header(std::string_view name) const;
  bool transport_ok() const { return curl_code == 0; }
};

// Performs `req`. Never fails as a Result: transport problems are in curl_code/curl_error, so
// callers can classify them (retry, TLS fallback).
HttpResponse PerformHttp(const HttpRequest& req, const TlsSettings& tls, const HttpTimeouts& t);

enum class TransportFailure { kNone, kRetryable, kTlsNotSpoken, kTlsVerify, kFatal };
TransportFailure ClassifyTransport(int curl_code);

// A Status describing a transport failure for `url`: UNAVAILABLE (DEADLINE_EXCEEDED for
// timeouts) for network trouble worth retrying; FAILED_PRECONDITION with advice for TLS
// problems, which only configuration fixes.
Status TransportStatus(const HttpResponse& r, std::string_view url);

}  // namespace berth::image::registry
