#pragma once
// WsChannels: a WebSocket client connection speaking Kubernetes' channel framing — each
// message is one channel byte followed by data (binary protocols), or one ASCII digit
// '0'+channel followed by base64 data (base64.channel.k8s.io, text messages). Used for
// exec/attach (v5/v4.channel.k8s.io, channel.k8s.io, base64.channel.k8s.io) and kubelet's
// WebSocket port-forward (one data/error channel pair per port).
//
// Threads: Connect does the upgrade (Boost.Beast, with the dial timeout) and then one asio
// thread owns the socket: it reads messages into per-channel queues and performs the writes
// that other threads hand it. Read(ch) and Write(ch) block and may be called from any thread
// (one reader per channel). Backpressure: when a channel holds more than 4 MiB unread, the
// connection stops reading until that reader catches up, so a slow stdout slows the server
// instead of filling memory.
//
// End: the server's close frame or a broken connection ends every channel (Read → 0, Write →
// false); close_reason() tells which. Close() sends a normal close frame and waits (bounded)
// for the server's; the destructor does that too and joins the thread.
//
// Errors: Connect fails with the HTTP status and body when the server refuses the upgrade
// (e.g. "404 Not Found: token not found") or with the socket error.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cli/streaming/dial.h"
#include "common/status.h"

namespace berth::cli::streaming {

class WsChannels {
 public:
  static Result<std::unique_ptr<WsChannels>> Connect(const StreamUrl& url,
                                                     const std::vector<std::string>& protocols,
                                                     const DialOptions& options);
  ~WsChannels();
  WsChannels(const WsChannels&) = delete;
  WsChannels& operator=(const WsChannels&) = delete;

  // The subprotocol the server chose ("" when it named none).
  const std::string& protocol() const;

  // Data the server sent on `channel`; blocks for at least one byte; 0 once the connection
  // ended and everything was read.
  size_t Read(uint8_t channel, char* buf, size_t len);
  // Sends `data` on `channel` (split in messages of at most 32 KiB); blocks until written.
  // False when the connection has ended. An empty `data` sends one empty message.
  bool Write(uint8_t channel, std::string_view data);
  // Sends `message` as one message as is (its first byte is the channel): the v5 close
  // signal {255, channel}.
  bool WriteRaw(std::string message);

  // Normal close handshake (bounded by a few seconds); every channel then ends.
  void Close();
  bool Ended() const;
  // Empty while open; after the end "normal" for a normal closure, else what happened.
  std::string close_reason() const;

  struct Impl;

 private:
  explicit WsChannels(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::cli::streaming
