#include "cri/pod/pod_validation.h"

#include <arpa/inet.h>

#include <string>

namespace berth {
namespace {

using runtime::v1::NamespaceMode;

bool IsIp(const std::string& s) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, s.c_str(), buf) == 1 || ::inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

bool HasSpace(const std::string& s) {
  return s.find_first_of(std::string(" \t\r\n\v\f\0", 7)) != std::string::npos;
}

// RFC 1123 hostname (as Kubernetes validates pod hostnames): lower-case labels of [a-z0-9-],
// not starting or ending with '-', each ≤ 63, the whole ≤ 253 (a UTS name holds 64).
bool IsHostname(const std::string& h) {
  if (h.empty() || h.size() > 64) return false;
  size_t start = 0;
  while (start <= h.size()) {
    size_t end = h.find('.', start);
    if (end == std::string::npos) end = h.size();
    std::string label = h.substr(start, end - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
    }
    start = end + 1;
  }
  return true;
}

Status CheckDns(const runtime::v1::DNSConfig& dns) {
  for (const auto& s : dns.servers()) {
    if (!IsIp(s)) return InvalidArgument("dns_config.servers: \"" + s + "\" is not an IP address");
  }
  // glibc reads at most 6 search domains historically; Kubernetes allows 32 and 2048 chars.
  if (dns.searches_size() > 32) {
    return InvalidArgument("dns_config.searches: more than 32 search domains");
  }
  size_t total = 0;
  for (const auto& s : dns.searches()) {
    total += s.size() + 1;
    if (s.empty() || HasSpace(s) || s.size() > 253) {
      return InvalidArgument("dns_config.searches: \"" + s +
                             "\" is not a domain (empty, too long or contains white space)");
    }
  }
  if (total > 2048) return InvalidArgument("dns_config.searches: longer than 2048 characters");
  for (const auto& o : dns.options()) {
    if (o.empty() || HasSpace(o)) {
      return InvalidArgument("dns_config.options: \"" + o +
                             "\" is not a resolv.conf option (empty or contains white space)");
    }
  }
  return OkStatus();
}

Status CheckPorts(const runtime::v1::PodSandboxConfig& c) {
  for (const auto& p : c.port_mappings()) {
    if (p.container_port() <= 0 || p.container_port() > 65535) {
      return InvalidArgument("port_mappings: container_port " + std::to_string(p.container_port()) +
                             " is not in 1..65535");
    }
    if (p.host_port() < 0 || p.host_port() > 65535) {
      return InvalidArgument("port_mappings: host_port " + std::to_string(p.host_port()) +
                             " is not in 0..65535");
    }
    if (!p.host_ip().empty() && !IsIp(p.host_ip())) {
      return InvalidArgument("port_mappings: host_ip \"" + p.host_ip() + "\" is not an IP address");
    }
  }
  return OkStatus();
}

Status CheckNamespaces(const runtime::v1::NamespaceOption& ns) {
  if (ns.network() != NamespaceMode::POD && ns.network() != NamespaceMode::NODE) {
    return InvalidArgument("namespace_options.network: a pod's network namespace is POD or NODE");
  }
  if (ns.ipc() != NamespaceMode::POD && ns.ipc() != NamespaceMode::NODE) {
    return InvalidArgument("namespace_options.ipc: a pod's IPC namespace is POD or NODE");
  }
  if (ns.pid() == NamespaceMode::TARGET) {
    return InvalidArgument(
        "namespace_options.pid: TARGET applies to containers, not to a pod sandbox");
  }
  if (ns.has_userns_options() && ns.userns_options().mode() != NamespaceMode::NODE) {
    return Unimplemented(
        "namespace_options.userns_options: user namespaces are not supported by berth yet "
        "(the runtime handlers report user_namespaces=false); use mode NODE");
  }
  return OkStatus();
}

}  // namespace

Status ValidatePodSysctl(const std::string& name, const std::string& value, bool host_network,
                         bool host_ipc) {
  if (name.empty() ||
      name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_.-/") != std::string::npos ||
      name.find("..") != std::string::npos) {
    return InvalidArgument("sysctls: \"" + name + "\" is not a sysctl name");
  }
  if (value.find_first_of(std::string("\n\0", 2)) != std::string::npos) {
    return InvalidArgument("sysctls: the value of " + name + " has a newline or NUL");
  }
  std::string n = name;
  for (char& ch : n) {
    if (ch == '/') ch = '.';
  }
  bool ipc = n == "kernel.sem" || n.starts_with("kernel.shm") || n.starts_with("kernel.msg") ||
             n.starts_with("fs.mqueue.");
  bool net = n.starts_with("net.");
  bool uts = n == "kernel.hostname" || n == "kernel.domainname";
  if (!ipc && !net && !uts) {
    return InvalidArgument("sysctls: " + name +
                           " is not namespaced, so a pod cannot set it (allowed: net.*, "
                           "kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*)");
  }
  if (uts) {
    return InvalidArgument("sysctls: " + name + " is set through the pod's hostname instead");
  }
  if (net && host_network) {
    return InvalidArgument("sysctls: " + name + " cannot be set in a pod with host networking");
  }
  if (ipc && host_ipc) {
    return InvalidArgument("sysctls: " + name + " cannot be set in a pod with host IPC");
  }
  return OkStatus();
}

Status ValidatePodSandboxConfig(const runtime::v1::PodSandboxConfig& c) {
  if (!c.has_metadata()) return InvalidArgument("metadata is required (name, namespace, uid)");
  const auto& m = c.metadata();
  if (m.name().empty()) return InvalidArgument("metadata.name is required");
  if (m.namespace_().empty()) return InvalidArgument("metadata.namespace is required");
  if (m.uid().empty()) return InvalidArgument("metadata.uid is required");
  for (const std::string* f : {&m.name(), &m.namespace_(), &m.uid()}) {
    if (f->find_first_of(std::string("/\0\n;=", 5)) != std::string::npos) {
      return InvalidArgument("metadata: \"" + *f + "\" contains '/', ';', '=', NUL or newline");
    }
  }
  if (!c.hostname().empty() && !IsHostname(c.hostname())) {
    return InvalidArgument("hostname \"" + c.hostname() +
                           "\" is not a valid host name (RFC 1123 labels, at most 64 characters)");
  }
  if (c.has_dns_config()) BERTH_RETURN_IF_ERROR(CheckDns(c.dns_config()));
  BERTH_RETURN_IF_ERROR(CheckPorts(c));
  const auto& ns = c.linux().security_context().namespace_options();
  BERTH_RETURN_IF_ERROR(CheckNamespaces(ns));
  for (const auto& [k, v] : c.linux().sysctls()) {
    BERTH_RETURN_IF_ERROR(ValidatePodSysctl(k, v, ns.network() == NamespaceMode::NODE,
                                            ns.ipc() == NamespaceMode::NODE));
  }
  if (!c.log_directory().empty() && c.log_directory()[0] != '/') {
    return InvalidArgument("log_directory \"" + c.log_directory() + "\" is not an absolute path");
  }
  return OkStatus();
}

}  // namespace berth
