#pragma once
// What happens on a WebSocket connection (kubelet's wsstream channel protocol):
//
// Remote command: channels 0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize. Right after the
// handshake an empty message goes to the lowest writable output channel (stdout, else
// stderr, else error) so the client knows the session is up. v4/v5 report a metav1.Status
// JSON on channel 3, channel.k8s.io/base64.channel.k8s.io plain text.
//
// Port-forward: for the i-th port, channel 2i carries data both ways and 2i+1 errors; the
// first message on each starts with the port as uint16 little-endian. One connection per
// port per WebSocket session; the session ends when every port's connection has.

#include <optional>
#include <string>
#include <vector>

#include "common/log.h"
#include "cri/streaming/remote_command.h"
#include "cri/streaming/request_cache.h"
#include "cri/streaming/stream_backend.h"
#include "cri/streaming/ws_connection.h"

namespace berth::streaming {

// The first protocol of `offered` (Sec-WebSocket-Protocol values, in the client's order) this
// server speaks, or "" (binary channel protocol) when none was offered; nullopt when none of
// the offered ones is supported (the client gets 403 and the list).
std::optional<WsProtocol> NegotiateWsProtocol(const std::vector<std::string>& offered,
                                              bool port_forward);
// The protocols for the 403 answer.
std::string SupportedWsProtocols(bool port_forward);

// Exec or attach; `conn` was accepted with 5 channels and RemoteCommandReadable(request).
void ServeWsRemoteCommand(WsConnection& conn, CancelSource& cancel, StreamBackend& backend,
                          const CachedRequest& request, const WsProtocol& protocol);
uint64_t RemoteCommandReadable(const CachedRequest& request);

// `conn` was accepted with 2 * ports.size() channels and PortForwardReadable.
void ServeWsPortForward(WsConnection& conn, CancelSource& cancel, StreamBackend& backend,
                        const std::string& pod_id, const std::vector<uint16_t>& ports);
uint64_t PortForwardReadable(size_t ports);

}  // namespace berth::streaming
