#pragma once
// The client side of exec and attach streaming (client-go's tools/remotecommand, as crictl and
// kubectl use it), over SPDY/3.1 or WebSocket.
//
// SPDY: offers v4.channel.k8s.io, v3, v2 and channel.k8s.io; opens the error stream first,
// then stdin/stdout/stderr (as asked; no stderr with a tty) and, from v3 on with a tty, the
// resize stream, each with the "streamtype" header. WebSocket: offers v5.channel.k8s.io,
// v4.channel.k8s.io, channel.k8s.io and base64.channel.k8s.io; channels 0 stdin, 1 stdout,
// 2 stderr, 3 error, 4 resize; at stdin EOF v5 sends the close signal {255, 0} (v4 and older
// have no way to say it). Resize events are JSON {"Width":W,"Height":H} lines.
//
// The result: v4/v5 read the error stream's JSON metav1.Status — Success → 0, Failure with
// reason NonZeroExitCode → the ExitCode cause; any other failure is an error carrying the
// status message. v1–v3 have no exit codes: a non-empty error stream is an error, else 0.
//
// Threads: Stream runs a thread per direction and returns when stdout/stderr and the error
// stream have ended; the stdin reader is then interrupted (LocalInput::Interrupt) and the
// resize watcher stopped, so nothing is left running. Nothing here touches the terminal mode;
// the verb puts the terminal in raw mode around the call.

#include <string>

#include "cli/streaming/dial.h"
#include "cli/streaming/local_io.h"
#include "cli/streaming/terminal.h"
#include "common/status.h"

namespace berth::cli::streaming {

enum class Transport { kSpdy, kWebSocket };

// "spdy" or "websocket" (crictl's --transport values); INVALID_ARGUMENT otherwise.
Result<Transport> ParseTransport(const std::string& name);

struct RemoteCommandOptions {
  bool stdin = false;
  bool stdout = true;
  bool stderr = true;  // ignored with tty
  bool tty = false;
  Transport transport = Transport::kSpdy;
  DialOptions dial;
};

// Borrowed for the call; `in` is used only with options.stdin, `resize` (may be null) only
// with options.tty.
struct LocalStreams {
  LocalInput* in = nullptr;
  LocalOutput* out = nullptr;
  LocalOutput* err = nullptr;
  ResizeWatcher* resize = nullptr;
};

// Runs one exec/attach session against `url`. The command's exit code, or an error: the URL
// or the upgrade was refused, the connection broke before an exit status came, or the server
// reported a failure that is not an exit code.
Result<int> StreamRemoteCommand(const std::string& url, const RemoteCommandOptions& options,
                                LocalStreams& local);

// The exit code in a v4 error-stream message (exposed for tests). Empty message: 0.
Result<int> DecodeV4Status(const std::string& message);

}  // namespace berth::cli::streaming
