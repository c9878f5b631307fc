#pragma once
// Small HTTP helpers of the streaming server (streaming_server.cc): header lists, query
// parameters, the WebSocket port-forward's ports, and closing after an error response.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/beast/http.hpp>

#include "api/cri.h"
#include "common/status.h"

namespace berth::streaming {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;

std::string_view SV(boost::beast::string_view s);
boost::beast::string_view BV(std::string_view s);

// Every value of a header that may repeat and carry comma-separated lists, trimmed.
std::vector<std::string> HeaderList(const HttpRequest& req, std::string_view name);
// Whether one of those values equals `token` (case-insensitively).
bool HasToken(const HttpRequest& req, std::string_view name, std::string_view token);
// "[a b c]", as Go prints a string slice (kubelet's negotiation messages).
std::string Join(const std::vector<std::string>& v);

// Query parameter values ("a=1&a=2,3" → {"1", "2,3"} for "a"); not percent-decoded (only
// numbers are read from it).
std::vector<std::string> QueryValues(std::string_view query, std::string_view key);

// Ports of a WebSocket port-forward: the request's, else the "port" query parameter
// (kubelet's name; "ports" accepted as well), repeated and/or comma-separated. At most 32.
Result<std::vector<uint16_t>> WsPorts(const runtime::v1::PortForwardRequest& pf,
                                      std::string_view query);

// After an error response: stop sending, then read (and drop) what the client still sends
// for a moment, so that closing does not reset the connection under the response.
void LingeringClose(int fd);

}  // namespace berth::streaming
