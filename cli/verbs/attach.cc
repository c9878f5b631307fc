#include "cli/verbs/attach.h"

#include <memory>

#include "cli/verbs/cri_util.h"
#include "cli/verbs/stream_session.h"

namespace berth::cli {
namespace {

using Stub = ::runtime::v1::RuntimeService::Stub;

struct AttachFlags {
  std::vector<std::string> args;
  bool tty = false, interactive = false;
  std::string transport = "spdy";
};

Status RunAttach(Context& ctx, const AttachFlags& flags, CLI::App* app) {
  if (flags.args.empty() || flags.args.front().empty()) {
    return InvalidArgument("ID cannot be empty");
  }
  if (flags.args.size() > 1) {
    ctx.out << app->help();
    return OkStatus();
  }
  auto transport = streaming::ParseTransport(flags.transport);
  if (!transport.ok()) return transport.status();
  StreamRequest stream{flags.interactive, flags.tty, *transport};
  BERTH_RETURN_IF_ERROR(CheckTtyFlags(ctx, stream));
  auto id = ResolveContainerId(ctx, flags.args.front());
  if (!id.ok()) return id.status().Wrap("attaching to container " + flags.args.front());
  ::runtime::v1::AttachRequest request;
  request.set_container_id(*id);
  request.set_tty(stream.tty);
  request.set_stdin(stream.stdin);
  request.set_stdout(true);
  request.set_stderr(!stream.tty);
  auto r = ctx.connection.Call(ctx.connection.Runtime(), &Stub::Attach, request);
  if (!r.ok()) return r.status().Wrap("attaching to container " + *id);
  ctx.debug("Attach URL: " + r->url());
  auto code = RunStreamSession(ctx, r->url(), stream);
  if (!code.ok()) return code.status().Wrap("attaching to container " + *id);
  ctx.exit_code = *code;
  return OkStatus();
}

}  // namespace

void AddAttachCommands(CLI::App& root, CommandList& commands) {
  auto flags = std::make_shared<AttachFlags>();
  CLI::App* app = root.add_subcommand("attach", "Attach to a running container");
  app->add_option("CONTAINER-ID", flags->args, "The container to attach to");
  app->add_flag("-t,--tty", flags->tty, "Stdin is a TTY");
  app->add_flag("-i,--stdin", flags->interactive, "Pass stdin to the container");
  app->add_option("-r,--transport", flags->transport,
                  "Transport protocol to use, one of: spdy|websocket");
  commands.push_back({app, [flags, app](Context& ctx) { return RunAttach(ctx, *flags, app); }});
}

}  // namespace berth::cli
