#pragma once
// Reading what CNI plugins print: results (spec "Section 5: Result Types", 0.2.0 to 1.1.0)
// and errors ({"code", "msg", "details"}).

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace berth::cni {

struct ResultIp {
  std::string interface;  // the interface's name when the result names one, else ""
  std::string address;    // CIDR
  std::string gateway;
};

struct ParsedResult {
  std::vector<ResultIp> ips;  // IPv4 first, then IPv6, each in the plugin's order
  std::vector<std::string> dns_servers, dns_searches, dns_options;
};

// Extracts the IPs the container got on `ifname` (IPs whose interface index points to an
// interface with that name and a sandbox; IPs without an interface reference are kept too),
// and the DNS section. Tolerant: fields of the wrong type are skipped, never fatal.
ParsedResult ParseResult(const nlohmann::json& result, const std::string& ifname);

// A message for a failed plugin run: `plugin` (type), `command`, the error JSON on stdout if
// any ("code N: msg (details)"), else the trimmed stderr, else the exit code.
std::string DescribeFailure(const std::string& plugin, const std::string& command, int exit_code,
                            const std::string& out, const std::string& err);

// The CNI error code of a failure output (0 when the output is not an error object).
int ErrorCode(const std::string& out);

}  // namespace berth::cni
