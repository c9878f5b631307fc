#include "cri/streaming/ws_handlers.h"

#include <optional>
#include <thread>

#include "cri/streaming/port_forward.h"

namespace berth::streaming {
namespace {

enum Channel { kStdin = 0, kStdout = 1, kStderr = 2, kError = 3, kResize = 4 };

struct ProtocolEntry {
  const char* name;
  bool base64;
  bool close_signal;
  bool status_json;
};

// In no particular order: the client's order decides (as wsstream does).
constexpr ProtocolEntry kRemoteCommand[] = {
    {"v5.channel.k8s.io", false, true, true},        {"v4.channel.k8s.io", false, false, true},
    {"v4.base64.channel.k8s.io", true, false, true}, {"channel.k8s.io", false, false, false},
    {"base64.channel.k8s.io", true, false, false},
};
constexpr ProtocolEntry kPortForward[] = {
    {"portforward.k8s.io", false, false, false},
    {"v4.channel.k8s.io", false, false, false},
    {"v4.base64.channel.k8s.io", true, false, false},
};

template <size_t N>
const ProtocolEntry* Find(const ProtocolEntry (&table)[N], const std::string& name) {
  for (const auto& e : table) {
    if (name == e.name) return &e;
  }
  return nullptr;
}

struct Flags {
  bool in = false, out = false, err = false, tty = false;
};

Flags FlagsOf(const CachedRequest& request) {
  Flags f;
  if (const auto* e = std::get_if<runtime::v1::ExecRequest>(&request)) {
    f = {e->stdin(), e->stdout(), e->stderr(), e->tty()};
  } else if (const auto* a = std::get_if<runtime::v1::AttachRequest>(&request)) {
    f = {a->stdin(), a->stdout(), a->stderr(), a->tty()};
  }
  if (f.tty) f.err = false;
  return f;
}

}  // namespace

std::optional<WsProtocol> NegotiateWsProtocol(const std::vector<std::string>& offered,
                                              bool port_forward) {
  if (offered.empty()) return WsProtocol{};
  for (const std::string& name : offered) {
    const ProtocolEntry* e = port_forward ? Find(kPortForward, name) : Find(kRemoteCommand, name);
    if (e) return WsProtocol{e->name, e->base64, e->close_signal};
  }
  return std::nullopt;
}

std::string SupportedWsProtocols(bool port_forward) {
  std::string out;
  auto add = [&](const auto& table) {
    for (const auto& e : table) out += (out.empty() ? "" : ", ") + std::string(e.name);
  };
  if (port_forward) {
    add(kPortForward);
  } else {
    add(kRemoteCommand);
  }
  return out;
}

uint64_t RemoteCommandReadable(const CachedRequest& request) {
  Flags f = FlagsOf(request);
  return (f.in ? 1u << kStdin : 0) | (f.tty ? 1u << kResize : 0);
}

void ServeWsRemoteCommand(WsConnection& conn, CancelSource& cancel, StreamBackend& backend,
                          const CachedRequest& request, const WsProtocol& protocol) {
  Flags f = FlagsOf(request);
  // The "session is up" signal clients wait for before sending stdin.
  conn.channel(f.out ? kStdout : f.err ? kStderr : kError).Write("");

  std::optional<JsonResizeChannel> resize;
  if (f.tty) resize.emplace(conn.channel(kResize));
  ExecStreams io;
  io.in = f.in ? &conn.channel(kStdin) : nullptr;
  io.out = f.out ? &conn.channel(kStdout) : nullptr;
  io.err = f.err ? &conn.channel(kStderr) : nullptr;
  io.resize = resize ? &*resize : nullptr;
  io.tty = f.tty;
  io.cancel = &cancel;
  const ProtocolEntry* e = Find(kRemoteCommand, protocol.name);
  RunRemoteCommand(backend, request, io, &conn.channel(kError),
                   e && e->status_json ? ErrorFormat::kStatusJson : ErrorFormat::kPlainText);
  conn.Finish();
}

uint64_t PortForwardReadable(size_t ports) {
  uint64_t mask = 0;
  for (size_t i = 0; i < ports && 2 * i < 64; ++i) mask |= uint64_t{1} << (2 * i);
  return mask;
}

void ServeWsPortForward(WsConnection& conn, CancelSource& cancel, StreamBackend& backend,
                        const std::string& pod_id, const std::vector<uint16_t>& ports) {
  for (size_t i = 0; i < ports.size(); ++i) {
    char le[2] = {static_cast<char>(ports[i] & 0xff), static_cast<char>(ports[i] >> 8)};
    conn.channel(static_cast<int>(2 * i)).Write(std::string_view(le, 2));
    conn.channel(static_cast<int>(2 * i + 1)).Write(std::string_view(le, 2));
  }
  std::vector<std::thread> workers;
  for (size_t i = 0; i < ports.size(); ++i) {
    workers.emplace_back([&, i] {
      WsChannel& data = conn.channel(static_cast<int>(2 * i));
      ForwardChannels ch;
      ch.in = &data;
      ch.out = &data;
      ch.error = &conn.channel(static_cast<int>(2 * i + 1));
      ch.cancel = &cancel;
      ch.abort_input = [&data] { data.Stop(); };
      ch.half_close_grace = std::chrono::milliseconds(0);
      ForwardOne(backend, pod_id, ports[i], {}, ch);
    });
  }
  for (auto& w : workers) w.join();
  conn.Finish();
}

}  // namespace berth::streaming
