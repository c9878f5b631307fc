#pragma once
// What happens on a SPDY/3.1 connection after the upgrade (kubelet's behaviour):
//
// Remote command (exec/attach): the client opens one stream per channel, named by its
// "streamType" header (error, stdin, stdout, stderr, and resize from v3 on with a tty); the
// server waits up to stream_creation_timeout for all the request asked for, runs the command
// and reports on the error stream (v4: metav1.Status JSON; older: plain text).
//
// Port-forward (portforward.k8s.io): each forwarded connection is a data and an error stream
// with the same "requestID" and "port" headers; every complete pair is dialed and pumped on
// its own thread, so one session carries many concurrent connections.
//
// Threads: both run on the connection's thread until the session ends; `cancel` must be the
// CancelSource the session's on_end fires.

#include <string>

#include "common/log.h"
#include "cri/streaming/remote_command.h"
#include "cri/streaming/request_cache.h"
#include "cri/streaming/spdy/session.h"
#include "cri/streaming/stream_backend.h"
#include "cri/streaming/streaming_server.h"

namespace berth::streaming {

// Protocol names in the server's order of preference (X-Stream-Protocol-Version).
inline constexpr const char* kSpdyRemoteCommandProtocols[] = {
    "v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io", "channel.k8s.io"};
inline constexpr const char* kSpdyPortForwardProtocols[] = {"portforward.k8s.io"};

// `protocol` is the negotiated X-Stream-Protocol-Version ("" = none sent: channel.k8s.io).
void ServeSpdyRemoteCommand(spdy::Session& session, CancelSource& cancel, StreamBackend& backend,
                            const CachedRequest& request, const std::string& protocol,
                            const StreamingOptions& options, const Logger& logger);

void ServeSpdyPortForward(spdy::Session& session, CancelSource& cancel, StreamBackend& backend,
                          const runtime::v1::PortForwardRequest& request,
                          const StreamingOptions& options, const Logger& logger);

// A SYN_STREAM header by name, case-insensitively ("" when absent).
std::string HeaderValue(const spdy::Headers& headers, const std::string& name);

}  // namespace berth::streaming
