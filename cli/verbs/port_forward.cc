#include "cli/verbs/port_forward.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <memory>

#include "cli/streaming/local_io.h"
#include "cli/streaming/port_forward.h"
#include "cli/verbs/cri_util.h"

namespace berth::cli {
namespace {

using Stub = ::runtime::v1::RuntimeService::Stub;

struct PortForwardFlags {
  std::vector<std::string> args;
  std::string transport = "spdy";
  std::string address = "127.0.0.1";
};

// The running forwarder's stop eventfd, for the signal handler.
std::atomic<int> g_stop_fd{-1};

void OnStopSignal(int) {
  int fd = g_stop_fd.load();
  if (fd >= 0) {
    uint64_t one = 1;
    (void)!::write(fd, &one, sizeof one);
  }
}

Status RunPortForward(Context& ctx, const PortForwardFlags& flags, CLI::App* app) {
  if (flags.args.size() < 2) {
    ctx.out << app->help();
    return OkStatus();
  }
  if (flags.args.front().empty()) return InvalidArgument("ID cannot be empty");
  auto transport = streaming::ParseTransport(flags.transport);
  if (!transport.ok()) return transport.status();
  std::vector<streaming::PortSpec> ports;
  ::runtime::v1::PortForwardRequest request;
  for (size_t i = 1; i < flags.args.size(); ++i) {
    auto p = streaming::ParsePortSpec(flags.args[i]);
    if (!p.ok()) return p.status();
    ports.push_back(*p);
    request.add_port(p->remote);
  }
  auto pod = ResolvePodId(ctx, flags.args.front());
  if (!pod.ok()) return pod.status().Wrap("port forwarding to pod " + flags.args.front());
  request.set_pod_sandbox_id(*pod);
  // All the ports for the first URL (SPDY); one port for each WebSocket connection.
  auto get_url = [&ctx, request](int remote) -> Result<std::string> {
    ::runtime::v1::PortForwardRequest one = request;
    if (remote > 0) {
      one.clear_port();
      one.add_port(remote);
    }
    auto r = ctx.connection.Call(ctx.connection.Runtime(), &Stub::PortForward, one);
    if (!r.ok()) return r.status().Wrap("port forwarding to pod " + request.pod_sandbox_id());
    ctx.debug("PortForward URL: " + r->url());
    return r->url();
  };
  auto first = get_url(0);
  if (!first.ok()) return first.status();

  std::unique_ptr<streaming::LocalOutput> out, err;
  if (ctx.terminal.stdout_fd >= 0) {
    out = std::make_unique<streaming::FdOutput>(ctx.terminal.stdout_fd);
  } else {
    out = std::make_unique<streaming::StreamOutput>(ctx.out);
  }
  if (ctx.terminal.stderr_fd >= 0) {
    err = std::make_unique<streaming::FdOutput>(ctx.terminal.stderr_fd);
  } else {
    err = std::make_unique<streaming::StreamOutput>(ctx.err);
  }
  ctx.out.flush();
  streaming::PortForwardOptions options;
  options.address = flags.address;
  options.transport = *transport;

  struct sigaction sa {
  }, old_int{}, old_term{}, old_pipe{}, ignore{};
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  ::sigaction(SIGPIPE, &ignore, &old_pipe);
  auto forwarder = streaming::PortForwarder::Start(*first, get_url, std::move(ports), options,
                                                   out.get(), err.get());
  Status status;
  if (!forwarder.ok()) {
    status = forwarder.status().Wrap("port forwarding to pod " + *pod);
  } else {
    g_stop_fd = (*forwarder)->stop_fd();
    ::sigaction(SIGINT, &sa, &old_int);
    ::sigaction(SIGTERM, &sa, &old_term);
    status = (*forwarder)->Wait();
    ::sigaction(SIGINT, &old_int, nullptr);
    ::sigaction(SIGTERM, &old_term, nullptr);
    g_stop_fd = -1;
    forwarder->reset();
  }
  ::sigaction(SIGPIPE, &old_pipe, nullptr);
  return status;
}

}  // namespace

void AddPortForwardCommands(CLI::App& root, CommandList& commands) {
  auto flags = std::make_shared<PortForwardFlags>();
  CLI::App* app = root.add_subcommand("port-forward", "Forward local port to a pod");
  app->add_option("POD-ID [LOCAL_PORT:]REMOTE_PORT", flags->args,
                  "The pod and the ports to forward (LOCAL_PORT empty or 0: chosen by the "
                  "kernel)");
  app->add_option("-r,--transport", flags->transport,
                  "Transport protocol to use, one of: spdy|websocket");
  app->add_option("--address", flags->address,
                  "Local IP address to listen on (default: 127.0.0.1)");
  commands.push_back(
      {app, [flags, app](Context& ctx) { return RunPortForward(ctx, *flags, app); }});
}

}  // namespace berth::cli
