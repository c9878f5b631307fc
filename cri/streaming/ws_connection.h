#pragma once
// WsConnection: a server-side WebSocket connection (Boost.Beast) carrying kubelet's channel
// protocol: every message starts with the channel number (a byte for the binary protocols, an
// ASCII digit for base64.channel.k8s.io, whose payload is base64 in text messages), and in
// v5.channel.k8s.io a message [255, c] from the client closes channel c (e.g. stdin EOF).
//
// Each channel is an InputChannel (what the client sent on it) and an OutputChannel. Beast
// streams are not thread-safe, so all socket work happens on one I/O thread running an
// io_context: an endless async read that demultiplexes messages into per-channel queues, and
// a write queue that channel writers from any thread feed and wait on.
//
// Ends (Cancellation fires unless Finish() was called first) when the client closes or
// resets, sends a malformed frame (Beast closes with protocol_error), a message for an
// unknown channel or bad base64 (we close with 1002/1007 and a reason), or nothing moved for
// idle_timeout. Threads: channel methods from any thread (one reader and one writer per
// channel); Finish from the session thread.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <boost/beast/http.hpp>

#include "common/log.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "cri/streaming/channels.h"
#include "cri/streaming/remote_command.h"

namespace berth::streaming {

struct WsProtocol {
  std::string name;           // the negotiated Sec-WebSocket-Protocol ("" = none)
  bool base64 = false;        // text messages, digit channel, base64 payload
  bool close_signal = false;  // v5: [255, channel] closes a channel
};

struct WsConnectionImpl;

// One channel of a WsConnection (owned by it). Read returns 0 once the client closed the
// channel (v5) or the connection ended; Write sends one or more messages on the channel and
// blocks until the socket took them; Close only stops later writes (the channel protocol has
// no server-side close).
class WsChannel final : public InputChannel, public OutputChannel {
 public:
  WsChannel(WsConnectionImpl* conn, int index) : conn_(conn), index_(index) {}
  size_t Read(char* buf, size_t len) override;
  bool Write(std::string_view data) override;
  void Close() override;
  // Makes Read return 0 from now on (what the client still sends on it is dropped).
  void Stop() override;

 private:
  WsConnectionImpl* conn_;
  int index_;
};

class WsConnection {
 public:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;

  // Completes the WebSocket handshake for `req` on `socket` (plaintext; TLS is proxied
  // below us) answering with `protocol.name`, and starts the I/O thread. `channels` is how
  // many channels exist; messages for others end the connection; messages for channels not
  // in `readable` (bit i = channel i) are dropped, as kubelet does. `cancel` (borrowed) fires
  // when the client goes away first.
  static Result<std::unique_ptr<WsConnection>> Accept(UniqueFd socket, const Request& req,
                                                      WsProtocol protocol, int channels,
                                                      uint64_t readable,
                                                      std::chrono::milliseconds idle_timeout,
                                                      CancelSource& cancel, Logger logger);
  ~WsConnection();  // Finish()

  WsChannel& channel(int i);
  // Ends the connection normally: sends a close frame (1000), waits briefly for the client's,
  // stops the I/O thread. Idempotent.
  void Finish();
  bool Ended() const;

 private:
  explicit WsConnection(std::unique_ptr<WsConnectionImpl> impl);
  std::unique_ptr<WsConnectionImpl> impl_;
};

}  // namespace berth::streaming
