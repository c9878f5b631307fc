#include "cri/image/registry/config.h"

#include <arpa/inet.h>

#include "common/json_reader.h"
#include "cri/image/reference.h"

namespace berth::image::registry {
namespace {

// Strips ":port" and IPv6 brackets: "[::1]:5000" → "::1", "localhost:5000" → "localhost".
std::string HostOnly(std::string_view hp) {
  if (!hp.empty() && hp.front() == '[') {
    size_t close = hp.find(']');
    return std::string(hp.substr(1, close == std::string_view::npos ? hp.npos : close - 1));
  }
  size_t colon = hp.find(':');
  if (colon != std::string_view::npos && hp.find(':', colon + 1) == std::string_view::npos) {
    hp = hp.substr(0, colon);
  }
  return std::string(hp);
}

}  // namespace

bool IsLoopbackHost(std::string_view host_port) {
  std::string h = HostOnly(host_port);
  if (h == "localhost") return true;
  in_addr a4;
  if (::inet_pton(AF_INET, h.c_str(), &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
  in6_addr a6;
  if (::inet_pton(AF_INET6, h.c_str(), &a6) == 1) return IN6_IS_ADDR_LOOPBACK(&a6);
  return false;
}

Result<RegistryConfig> RegistryConfig::FromJson(const nlohmann::json& j, std::string_view where) {
  RegistryConfig cfg;
  if (!j.is_object()) return InvalidArgument(std::string(where) + ": expected an object");
  JsonObjectReader top(j, std::string(where));
  nlohmann::json hosts = nlohmann::json::object();
  top.GetObject("hosts", hosts);
  BERTH_RETURN_IF_ERROR(top.Finish());
  for (auto& [name, value] : hosts.items()) {
    std::string path = top.PathOf("hosts") + "." + name;
    if (!value.is_object()) return InvalidArgument(path + ": expected an object");
    HostConfig h;
    JsonObjectReader r(value, path);
    r.Get("mirrors", h.mirrors);
    r.Get("origin_fallback", h.origin_fallback);
    r.Get("insecure", h.insecure);
    r.Get("ca_file", h.ca_file);
    BERTH_RETURN_IF_ERROR(r.Finish());
    cfg.hosts[name] = std::move(h);
  }
  // Validate the mirrors now, so a typo fails at startup rather than at the first pull.
  for (const auto& [name, h] : cfg.hosts) {
    auto eps = cfg.EndpointsFor(name == "*" ? "example.invalid" : name);
    if (!eps.ok()) return eps.status().Wrap(std::string(where) + ".hosts." + name);
  }
  return cfg;
}

Result<std::vector<Endpoint>> RegistryConfig::EndpointsFor(std::string_view domain) const {
  auto entry_for = [&](std::string_view host) -> const HostConfig* {
    if (auto it = hosts.find(std::string(host)); it != hosts.end()) return &it->second;
    return nullptr;
  };
  auto make = [&](std::string scheme, std::string host, bool explicit_scheme) {
    Endpoint e;
    e.scheme = std::move(scheme);
    e.host = std::move(host);
    const HostConfig* tls = entry_for(e.host);
    if (tls) {
      e.ca_file = tls->ca_file;
      if (tls->insecure) {
        e.verify_tls = false;
        e.http_fallback = !explicit_scheme;
      }
    }
    if (!explicit_scheme && IsLoopbackHost(e.host)) e.http_fallback = true;
    return e;
  };

  const HostConfig* entry = entry_for(domain);
  if (!entry) entry = entry_for("*");
  std::vector<Endpoint> out;
  if (entry) {
    for (const std::string& m : entry->mirrors) {
      std::string scheme = "https";
      std::string rest = m;
      bool explicit_scheme = false;
      if (size_t p = m.find("://"); p != std::string::npos) {
        scheme = m.substr(0, p);
        rest = m.substr(p + 3);
        explicit_scheme = true;
        if (scheme != "http" && scheme != "https") {
          return InvalidArgument("mirror \"" + m + "\": scheme must be http or https");
        }
      }
      while (!rest.empty() && rest.back() == '/') rest.pop_back();
      if (rest.empty() || rest.find('/') != std::string::npos) {
        return InvalidArgument("mirror \"" + m +
                               "\": expected [scheme://]host[:port] "
                               "(a path prefix is not supported)");
      }
      Endpoint e = make(scheme, rest, explicit_scheme);
      e.is_mirror = true;
      out.push_back(std::move(e));
    }
  }
  if (!entry || entry->mirrors.empty() || entry->origin_fallback) {
    Endpoint e = make("https", RegistryHostFor(domain), false);
    // The origin's own entry (not "*") decides its TLS settings.
    if (const HostConfig* own = entry_for(domain)) {
      if (!own->ca_file.empty()) e.ca_file = own->ca_file;
      if (own->insecure) {
        e.verify_tls = false;
        e.http_fallback = true;
      }
    }
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace berth::image::registry
