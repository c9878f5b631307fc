#pragma once
// Port-forward, the transport-independent part: one forwarded connection is a pair of
// channels (data in both directions, error to the client) and a socket dialed into the pod.
// Both transports (port_forward_spdy.cc, port_forward_ws.cc) hand their channels to
// ForwardOne.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "cri/streaming/channels.h"
#include "cri/streaming/stream_backend.h"

namespace berth::streaming {

struct ForwardChannels {
  InputChannel* in = nullptr;    // client → pod
  OutputChannel* out = nullptr;  // pod → client
  OutputChannel* error = nullptr;
  Cancellation* cancel = nullptr;  // the session's; shuts the socket down when it fires
  // Makes a blocked in->Read return (e.g. resets the SPDY data stream). Called when the pod
  // side is finished but the client keeps its half open past the grace period.
  std::function<void()> abort_input;
  // How long the client may keep sending after the pod closed the connection. SPDY clients
  // half-close their data stream when done; WebSocket channels cannot, so there it is 0.
  std::chrono::milliseconds half_close_grace{std::chrono::seconds(10)};
};

// Dials `port` in `pod_id` through the backend and pumps both ways until the pod closes its
// side (then out is closed) and the client its side (or the grace period ends). A dial error,
// or a port outside `allowed` (when not empty), is written to the error channel as text, as
// kubelet does ("error forwarding port <p> to pod <id>, uid : <cause>"). Closes out and error.
void ForwardOne(StreamBackend& backend, const std::string& pod_id, uint16_t port,
                const std::vector<int32_t>& allowed, const ForwardChannels& ch);

// Copies between `in`/`out` and the connected socket `fd` (borrowed) until the socket's
// peer closes; returns after the client's half ended too (or abort_input was needed).
void PumpSocket(int fd, const ForwardChannels& ch);

}  // namespace berth::streaming
