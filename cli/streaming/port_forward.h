#pragma once
// The client side of port-forward (kubectl/crictl port-forward): local listeners whose
// connections are carried to ports inside the pod.
//
// SPDY (portforward.k8s.io): one session for the whole run; each accepted connection gets a
// new request id and two streams with headers streamtype=error|data, port, requestid (the
// error stream first, closed on our side at once; whatever the server writes on it is the
// error for that connection). WebSocket (kubelet's protocol): one connection per accepted
// local connection, from a fresh URL for just that port (`next_url(port)`, i.e. another CRI
// PortForward call naming only that port) with "?port=N"; channel 0 carries the data and
// channel 1 the error, each starting with the port as two little-endian bytes.
//
// Output like kubectl's: "Forwarding from 127.0.0.1:L -> R" per listener, "Handling
// connection for L" per connection; an error for a connection is printed to `err` as
// "error: an error occurred forwarding L -> R: <message>" and forwarding goes on.
//
// Threads: Start binds every listener before returning (nothing is half-listening on an
// error) and runs one accept thread; each connection runs on its own threads. Stop() (any
// thread; or a write to stop_fd() from a signal handler) closes the listeners, ends every
// connection and the session, and joins everything; Wait returns then.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cli/streaming/local_io.h"
#include "cli/streaming/remote_command.h"
#include "common/status.h"

namespace berth::cli::streaming {

struct PortSpec {
  uint16_t local = 0;  // 0: chosen by the kernel (filled in by Start)
  uint16_t remote = 0;
};

// kubectl's forms: "R" (local R), "L:R", ":R" and "0:R" (local chosen by the kernel).
Result<PortSpec> ParsePortSpec(const std::string& spec);

struct PortForwardOptions {
  std::string address = "127.0.0.1";
  Transport transport = Transport::kSpdy;
  DialOptions dial;
};

class PortForwarder {
 public:
  using UrlSource = std::function<Result<std::string>(uint16_t remote_port)>;
  // `first_url` (for all the ports) is used for the SPDY session (with WebSocket it only
  // proved the pod exists); `next_url` gets a URL for each WebSocket connection.
  // `out`/`err` are borrowed.
  static Result<std::unique_ptr<PortForwarder>> Start(const std::string& first_url,
                                                      UrlSource next_url,
                                                      std::vector<PortSpec> ports,
                                                      const PortForwardOptions& options,
                                                      LocalOutput* out, LocalOutput* err);
  ~PortForwarder();  // Stop()

  // The ports with the local ones the kernel chose.
  const std::vector<PortSpec>& ports() const;
  // Blocks until Stop() (OK) or the SPDY session was lost (UNAVAILABLE).
  Status Wait();
  void Stop();
  // An eventfd: writing an 8-byte 1 to it (async-signal-safe) makes Wait return.
  int stop_fd() const;

  struct Impl;

 private:
  explicit PortForwarder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::cli::streaming
