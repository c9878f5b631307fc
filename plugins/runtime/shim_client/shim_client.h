#pragma once
// Talking to one berth-shim: connect to its socket, send one Request, read one Response.
// Blocking; thread-safe (one connection per call). UNAVAILABLE when the shim is gone.

#include <cstdint>
#include <functional>
#include <string>

#include "berth/shim/v1/shim.pb.h"
#include "common/status.h"
#include "common/unique_fd.h"

namespace berth::runtime_shim {

// A connected socket to `socket_path`.
Result<UniqueFd> DialShim(const std::string& socket_path);

// One call. A non-OK Response.code becomes the returned status (with the shim's message).
Result<shim::v1::Response> CallShim(const std::string& socket_path, shim::v1::Request request,
                                    int timeout_ms = 60000);

// As CallShim for a request whose answer may be preceded by Response.output frames (exec-sync
// with chunked_output_limit): each is handed to `on_output` (stream 1 stdout, 2 stderr) on this
// thread as it arrives, and the first other Response is the answer. `timeout_ms` bounds the
// whole call (< 0: none): DEADLINE_EXCEEDED when it passes.
using OutputSink = std::function<void(uint32_t stream, const std::string& data)>;
Result<shim::v1::Response> CallShimWithOutput(const std::string& socket_path,
                                              shim::v1::Request request, int timeout_ms,
                                              const OutputSink& on_output);

// As CallShim, then waits (up to `close_timeout_ms`) until the shim closes the connection —
// for requests after which the shim exits (delete of the init, shutdown).
Result<shim::v1::Response> CallShimUntilClosed(const std::string& socket_path,
                                               shim::v1::Request request,
                                               int close_timeout_ms = 5000);

}  // namespace berth::runtime_shim
