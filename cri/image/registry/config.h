#pragma once
// Registry configuration: where to fetch a reference domain's content from and how to talk TLS.
//
//   {"hosts": {
//      "docker.io": {"mirrors": ["https://mirror.corp:5000"], "origin_fallback": true},
//      "reg.corp:5000": {"ca_file": "/etc/berth/certs/corp-ca.pem"},
//      "10.0.0.5:5000": {"insecure": true},
//      "*": {"mirrors": ["http://127.0.0.1:5000"]}}}
//
// Rules (kept deliberately small):
// - An entry is looked up by the reference domain ("docker.io", "host:port"); when there is
//   none, the "*" entry applies; a host's own entry replaces "*" entirely (no merging).
// - Endpoints are the entry's mirrors in order; then the origin (the registry the reference
//   names, docker.io → registry-1.docker.io) when the entry has no mirrors or sets
//   origin_fallback. So a "*" mirror sends every pull to it with no fallback unless asked.
// - A mirror is "scheme://host[:port]" or "host[:port]" (https). Its own TLS settings come
//   from the entry for its host[:port], if any.
// - insecure: HTTPS without certificate verification, falling back to plain HTTP when the
//   server does not speak TLS. ca_file: a PEM bundle added for verifying that host.
// - Loopback hosts (localhost, 127.0.0.0/8, ::1) need no configuration: HTTPS is tried first
//   (so a TLS registry on loopback still gets verified), and when the server answers the TLS
//   handshake with something that is not TLS, plain HTTP is used, as Docker allows.
// Plain values, thread-compatible.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace berth::image::registry {

struct HostConfig {
  std::vector<std::string> mirrors;
  bool origin_fallback = false;
  bool insecure = false;
  std::string ca_file;
};

struct Endpoint {
  std::string scheme;  // "https" or "http"
  std::string host;    // host[:port], IPv6 in brackets
  bool verify_tls = true;
  std::string ca_file;
  // Try plain HTTP when the HTTPS handshake meets a non-TLS server (loopback, insecure).
  bool http_fallback = false;
  bool is_mirror = false;
  std::string BaseUrl() const { return scheme + "://" + host; }
};

struct RegistryConfig {
  std::map<std::string, HostConfig> hosts;  // key: domain, host:port, or "*"

  // Parses the {"hosts": {...}} object; unknown keys are INVALID_ARGUMENT naming their path.
  static Result<RegistryConfig> FromJson(const nlohmann::json& j, std::string_view where);

  // The endpoints to try, in order, for a reference domain. INVALID_ARGUMENT for a malformed
  // mirror URL.
  Result<std::vector<Endpoint>> EndpointsFor(std::string_view domain) const;
};

// True for localhost, 127.0.0.0/8 and ::1 (with or without a port / brackets).
bool IsLoopbackHost(std::string_view host_port);

}  // namespace berth::image::registry
