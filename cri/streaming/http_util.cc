#include "cri/streaming/http_util.h"

#include <poll.h>
#include <sys/socket.h>

#include <cstdlib>

namespace berth::streaming {

namespace beast = boost::beast;
using Request = HttpRequest;

namespace {

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

std::string_view SV(beast::string_view s) { return {s.data(), s.size()}; }
beast::string_view BV(std::string_view s) { return {s.data(), s.size()}; }

// Every value of a header that may repeat and carry comma-separated lists.
std::vector<std::string> HeaderList(const Request& req, std::string_view name) {
  std::vector<std::string> out;
  auto range = req.equal_range(BV(name));  // every field of that name, wherever it is
  for (auto it = range.first; it != range.second; ++it) {
    std::string_view v = SV(it->value());
    size_t start = 0;
    while (start <= v.size()) {
      size_t comma = v.find(',', start);
      if (comma == std::string_view::npos) comma = v.size();
      std::string item = Trim(v.substr(start, comma - start));
      if (!item.empty()) out.push_back(item);
      start = comma + 1;
    }
  }
  return out;
}

bool HasToken(const Request& req, std::string_view name, std::string_view token) {
  for (const std::string& v : HeaderList(req, name)) {
    if (beast::iequals(BV(v), BV(token))) return true;
  }
  return false;
}

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : " ") + s;
  return "[" + out + "]";
}

// Query parameter values ("a=1&a=2,3" → {"1", "2,3"} for "a"); no percent-decoding needed
// for the numbers read from it.
std::vector<std::string> QueryValues(std::string_view query, std::string_view key) {
  std::vector<std::string> out;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view kv = query.substr(0, amp);
    size_t eq = kv.find('=');
    if (kv.substr(0, eq) == key) {
      out.emplace_back(eq == std::string_view::npos ? "" : kv.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

// Ports of a WebSocket port-forward: the request's, else the "port" query parameter
// (kubelet's name; "ports" accepted as well), repeated and/or comma-separated.
Result<std::vector<uint16_t>> WsPorts(const runtime::v1::PortForwardRequest& pf,
                                      std::string_view query) {
  std::vector<uint16_t> ports;
  for (int32_t p : pf.port()) ports.push_back(static_cast<uint16_t>(p));
  if (!ports.empty()) return ports;
  std::vector<std::string> values = QueryValues(query, "port");
  for (auto& v : QueryValues(query, "ports")) values.push_back(v);
  if (values.empty()) return InvalidArgument("query parameter \"port\" is required");
  for (const std::string& v : values) {
    std::string_view rest = v;
    do {
      size_t comma = rest.find(',');
      std::string item(rest.substr(0, comma));
      char* end = nullptr;
      unsigned long n = std::strtoul(item.c_str(), &end, 10);
      if (item.empty() || *end != '\0' || n < 1 || n > 65535) {
        return InvalidArgument("unable to parse \"" + v + "\" as a port");
      }
      ports.push_back(static_cast<uint16_t>(n));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    } while (!rest.empty());
  }
  if (ports.size() > 32) return InvalidArgument("at most 32 ports per WebSocket port-forward");
  return ports;
}

// After an error response: stop sending, then read (and drop) what the client still sends
// for a moment, so that closing does not reset the connection under the response.
void LingeringClose(int fd) {
  ::shutdown(fd, SHUT_WR);
  char buf[4096];
  for (int i = 0; i < 64; ++i) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 500) <= 0) break;
    ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n <= 0) break;
  }
}

}  // namespace berth::streaming
