#include "cli/verbs/stream_session.h"

#include <signal.h>

#include <memory>

#include "cli/streaming/local_io.h"
#include "cli/streaming/terminal.h"

namespace berth::cli {

namespace s = streaming;

Status CheckTtyFlags(const Context& ctx, const StreamRequest& request) {
  if (!request.tty) return OkStatus();
  if (!request.stdin) return InvalidArgument("tty=true must be specified with interactive=true");
  if (!ctx.terminal.in) return InvalidArgument("input is not a terminal");
  return OkStatus();
}

Result<int> RunStreamSession(Context& ctx, const std::string& url, const StreamRequest& request) {
  ctx.out.flush();
  std::unique_ptr<s::LocalInput> in;
  std::unique_ptr<s::LocalOutput> out, err;
  if (ctx.terminal.stdin_fd >= 0) {
    in = std::make_unique<s::FdInput>(ctx.terminal.stdin_fd);
  } else {
    in = std::make_unique<s::StreamInput>(ctx.in);
  }
  if (ctx.terminal.stdout_fd >= 0) {
    out = std::make_unique<s::FdOutput>(ctx.terminal.stdout_fd);
  } else {
    out = std::make_unique<s::StreamOutput>(ctx.out);
  }
  if (ctx.terminal.stderr_fd >= 0) {
    err = std::make_unique<s::FdOutput>(ctx.terminal.stderr_fd);
  } else {
    err = std::make_unique<s::StreamOutput>(ctx.err);
  }

  struct sigaction ignore {
  }, old_pipe{};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  ::sigaction(SIGPIPE, &ignore, &old_pipe);

  s::RemoteCommandOptions options;
  options.stdin = request.stdin;
  options.stdout = true;
  options.stderr = !request.tty;
  options.tty = request.tty;
  options.transport = request.transport;
  s::LocalStreams local{in.get(), out.get(), err.get(), nullptr};

  // Raw mode and resize only for a real terminal on stdin (crictl/kubectl: term.TTY{Raw}).
  std::unique_ptr<s::RawTerminal> raw;
  std::unique_ptr<s::ResizeWatcher> resize;
  Result<int> result = 0;
  if (request.tty && ctx.terminal.in && ctx.terminal.in_fd >= 0) {
    auto watcher = s::ResizeWatcher::Start(ctx.terminal.in_fd);
    if (!watcher.ok()) result = watcher.status();
    if (result.ok()) {
      resize = std::move(*watcher);
      local.resize = resize.get();
      auto r = s::RawTerminal::Enter(ctx.terminal.in_fd);
      if (!r.ok()) result = r.status();
      if (result.ok()) raw = std::move(*r);
    }
  }
  if (result.ok()) result = s::StreamRemoteCommand(url, options, local);
  raw.reset();  // restore the terminal before anything is printed
  resize.reset();
  ::sigaction(SIGPIPE, &old_pipe, nullptr);
  return result;
}

}  // namespace berth::cli
