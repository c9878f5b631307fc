#include "cli/streaming/remote_command.h"

#include <chrono>
#include <functional>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/streaming/spdy_dial.h"
#include "cli/streaming/ws_channels.h"
#include "cri/streaming/channels.h"

namespace berth::cli::streaming {
namespace {

using berth::streaming::InputChannel;
using berth::streaming::OutputChannel;
using namespace std::chrono_literals;

Status Unknown(std::string m) { return {StatusCode::kUnknown, std::move(m)}; }

// The remote ends of one session, whatever the transport.
struct RemoteEnds {
  InputChannel* error = nullptr;
  OutputChannel* stdin = nullptr;
  InputChannel* stdout = nullptr;
  InputChannel* stderr = nullptr;
  OutputChannel* resize = nullptr;
  int version = 4;  // 1 (channel.k8s.io) .. 5
  // Why the connection ended abnormally ("" when it did not, or cannot tell).
  std::function<std::string()> broken = [] { return std::string(); };
};

int VersionOf(const std::string& protocol) {
  if (protocol.size() > 3 && protocol[0] == 'v' && protocol[2] == '.') return protocol[1] - '0';
  return 1;  // channel.k8s.io, base64.channel.k8s.io
}

std::string ResizeJson(const WindowSize& s) {
  // client-go encodes remotecommand.TerminalSize with json.Encoder: field names, a newline.
  return "{\"Width\":" + std::to_string(s.width) + ",\"Height\":" + std::to_string(s.height) +
         "}\n";
}

void Copy(InputChannel* from, LocalOutput* to) {
  char buf[32 * 1024];
  bool ok = true;
  for (;;) {
    size_t n = from->Read(buf, sizeof buf);
    if (n == 0) return;
    // After a local write failure keep draining, so the server is never blocked on us.
    if (ok) ok = to->Write(std::string_view(buf, n));
  }
}

Result<int> Run(const RemoteCommandOptions& o, LocalStreams& local, RemoteEnds& r) {
  std::string error_message;
  std::thread error_reader([&] {
    char buf[4096];
    for (size_t n; (n = r.error->Read(buf, sizeof buf)) > 0;) error_message.append(buf, n);
  });
  std::thread resizer;
  if (o.tty && local.resize != nullptr && r.resize != nullptr) {
    resizer = std::thread([&] {
      WindowSize s;
      while (local.resize->Next(&s)) {
        if (!r.resize->Write(ResizeJson(s))) break;
      }
    });
  }
  std::thread stdin_pump;
  if (o.stdin && r.stdin != nullptr && local.in != nullptr) {
    stdin_pump = std::thread([&] {
      char buf[32 * 1024];
      for (;;) {
        size_t n = local.in->Read(buf, sizeof buf);
        if (n == 0) break;
        if (!r.stdin->Write(std::string_view(buf, n))) return;
      }
      // Like client-go: close remote stdin as soon as local stdin ends, so `cat` exits.
      r.stdin->Close();
    });
  }
  std::vector<std::thread> outputs;
  if (r.stdout != nullptr) outputs.emplace_back([&] { Copy(r.stdout, local.out); });
  if (r.stderr != nullptr) outputs.emplace_back([&] { Copy(r.stderr, local.err); });
  for (auto& t : outputs) t.join();
  error_reader.join();
  if (local.in != nullptr) local.in->Interrupt();
  if (stdin_pump.joinable()) stdin_pump.join();
  if (local.resize != nullptr) local.resize->Stop();
  if (resizer.joinable()) resizer.join();

  if (r.version >= 4) {
    if (error_message.empty()) {
      std::string why = r.broken();
      if (!why.empty()) return Unavailable("lost the connection before an exit status: " + why);
    }
    return DecodeV4Status(error_message);
  }
  if (!error_message.empty()) {
    return Unknown("error executing remote command: " + error_message);
  }
  std::string why = r.broken();
  if (!why.empty()) return Unavailable("lost the connection: " + why);
  return 0;
}

Result<int> RunSpdy(const StreamUrl& url, const RemoteCommandOptions& o, LocalStreams& local) {
  auto conn = DialSpdy(
      url, {"v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io", "channel.k8s.io"},
      o.dial);
  if (!conn.ok()) return conn.status();
  using berth::streaming::spdy::Stream;
  RemoteEnds ends;
  ends.version = VersionOf(conn->protocol);
  std::vector<std::shared_ptr<Stream>> streams;
  auto open = [&](const char* type) -> Result<std::shared_ptr<Stream>> {
    auto s = conn->session->Open({{"streamtype", type}});
    if (!s.ok()) return s.status().Wrap(std::string("opening the ") + type + " stream");
    streams.push_back(*s);
    return *s;
  };
  // client-go's order: error first, then stdin, stdout, stderr, resize.
  auto err = open("error");
  if (!err.ok()) return err.status();
  ends.error = err->get();
  if (o.stdin) {
    auto s = open("stdin");
    if (!s.ok()) return s.status();
    ends.stdin = s->get();
  }
  if (o.stdout) {
    auto s = open("stdout");
    if (!s.ok()) return s.status();
    ends.stdout = s->get();
  }
  if (o.stderr && !o.tty) {
    auto s = open("stderr");
    if (!s.ok()) return s.status();
    ends.stderr = s->get();
  }
  if (o.tty && ends.version >= 3) {
    auto s = open("resize");
    if (!s.ok()) return s.status();
    ends.resize = s->get();
  }
  for (const auto& s : streams) {
    if (!s->WaitReply(std::chrono::duration_cast<std::chrono::milliseconds>(o.dial.timeout))) {
      std::string type = s->headers().count("streamtype") ? s->headers().at("streamtype") : "";
      return Unavailable("the server did not accept the " + type + " stream");
    }
  }
  Result<int> result = Run(o, local, ends);
  conn->session->Close();
  return result;
}

class WsIn : public InputChannel {
 public:
  WsIn(WsChannels& ws, uint8_t ch) : ws_(ws), ch_(ch) {}
  size_t Read(char* buf, size_t len) override { return ws_.Read(ch_, buf, len); }

 private:
  WsChannels& ws_;
  uint8_t ch_;
};

class WsOut : public OutputChannel {
 public:
  WsOut(WsChannels& ws, uint8_t ch, bool close_signal)
      : ws_(ws), ch_(ch), close_signal_(close_signal) {}
  bool Write(std::string_view data) override { return ws_.Write(ch_, data); }
  void Close() override {
    if (close_signal_ && !closed_) {
      closed_ = true;
      ws_.WriteRaw(std::string{static_cast<char>(255), static_cast<char>(ch_)});
    }
  }

 private:
  WsChannels& ws_;
  uint8_t ch_;
  bool close_signal_;
  bool closed_ = false;
};

Result<int> RunWebSocket(const StreamUrl& url, const RemoteCommandOptions& o, LocalStreams& local) {
  auto ws = WsChannels::Connect(
      url, {"v5.channel.k8s.io", "v4.channel.k8s.io", "channel.k8s.io", "base64.channel.k8s.io"},
      o.dial);
  if (!ws.ok()) return ws.status();
  WsChannels& c = **ws;
  RemoteEnds ends;
  ends.version = c.protocol().empty() ? 1 : VersionOf(c.protocol());
  WsIn error(c, 3), out(c, 1), err(c, 2);
  WsOut in(c, 0, ends.version >= 5), resize(c, 4, false);
  ends.error = &error;
  if (o.stdin) ends.stdin = &in;
  if (o.stdout) ends.stdout = &out;
  if (o.stderr && !o.tty) ends.stderr = &err;
  if (o.tty) ends.resize = &resize;
  ends.broken = [&c] {
    std::string why = c.close_reason();
    return why == "normal" || why == "closed" ? std::string() : why;
  };
  Result<int> result = Run(o, local, ends);
  c.Close();
  return result;
}

}  // namespace

Result<Transport> ParseTransport(const std::string& name) {
  if (name == "spdy") return Transport::kSpdy;
  if (name == "websocket") return Transport::kWebSocket;
  return InvalidArgument("unknown transport \"" + name + "\", want spdy or websocket");
}

Result<int> DecodeV4Status(const std::string& message) {
  if (message.empty()) return 0;
  nlohmann::json status = nlohmann::json::parse(message, nullptr, /*allow_exceptions=*/false);
  if (status.is_discarded() || !status.is_object()) {
    return Unknown("error stream protocol error: not a JSON Status: " + message);
  }
  std::string state = status.value("status", "");
  if (state == "Success") return 0;
  if (state != "Failure") return Unknown("error stream protocol error: unknown status " + state);
  std::string text = status.value("message", "");
  if (status.value("reason", "") == "NonZeroExitCode") {
    const nlohmann::json* causes = nullptr;
    if (status.contains("details") && status["details"].is_object() &&
        status["details"].contains("causes") && status["details"]["causes"].is_array()) {
      causes = &status["details"]["causes"];
    }
    if (causes == nullptr) return Unknown("error stream protocol error: details must be set");
    for (const auto& c : *causes) {
      if (!c.is_object() || c.value("reason", "") != "ExitCode") continue;
      std::string v = c.value("message", "");
      if (v.empty() || v.size() > 3 || v.find_first_not_of("0123456789") != std::string::npos ||
          std::stoi(v) > 255) {
        return Unknown("error stream protocol error: invalid exit code value \"" + v + "\"");
      }
      return std::stoi(v);
    }
    return Unknown("error stream protocol error: no ExitCode cause given");
  }
  return Unknown(text.empty() ? "the command failed (no message)" : text);
}

Result<int> StreamRemoteCommand(const std::string& url, const RemoteCommandOptions& options,
                                LocalStreams& local) {
  auto parsed = ParseStreamUrl(url);
  if (!parsed.ok()) return parsed.status();
  if (options.transport == Transport::kWebSocket) return RunWebSocket(*parsed, options, local);
  return RunSpdy(*parsed, options, local);
}

}  // namespace berth::cli::streaming
