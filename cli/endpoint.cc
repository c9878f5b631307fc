#include "cli/endpoint.h"

namespace berth::cli {
namespace {

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

Result<std::string> EndpointToTarget(std::string_view endpoint) {
  if (endpoint.empty()) return InvalidArgument("endpoint is empty");
  if (endpoint.front() == '/') return "unix://" + std::string(endpoint);
  if (StartsWith(endpoint, "./") || StartsWith(endpoint, "../")) {
    return "unix:" + std::string(endpoint);
  }
  for (std::string_view scheme : {"unix:", "unix-abstract:", "dns:", "ipv4:", "ipv6:", "vsock:"}) {
    if (StartsWith(endpoint, scheme)) {
      if (endpoint.size() == scheme.size()) {
        return InvalidArgument("endpoint \"" + std::string(endpoint) + "\" has no address");
      }
      return std::string(endpoint);
    }
  }
  if (StartsWith(endpoint, "tcp://")) {
    std::string_view hostport = endpoint.substr(6);
    if (hostport.empty()) return InvalidArgument("endpoint \"tcp://\" has no address");
    return std::string(hostport);
  }
  size_t scheme_end = endpoint.find("://");
  if (scheme_end != std::string_view::npos) {
    return InvalidArgument("endpoint \"" + std::string(endpoint) + "\": unsupported scheme \"" +
                           std::string(endpoint.substr(0, scheme_end)) +
                           "\" (use unix:///path, a /path, or host:port)");
  }
  if (endpoint.find(':') == std::string_view::npos &&
      endpoint.find('/') != std::string_view::npos) {
    return "unix:" + std::string(endpoint);
  }
  return std::string(endpoint);
}

}  // namespace berth::cli
