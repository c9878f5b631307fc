#include "cri/streaming/spdy_handlers.h"

#include <strings.h>

#include <atomic>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <thread>

#include "cri/streaming/port_forward.h"

namespace berth::streaming {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// After the status is written the client closes the connection itself (kubelet waits for
// that too); a client that does not is cut off after this long.
constexpr auto kCloseGrace = std::chrono::seconds(10);

milliseconds Remaining(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? left : milliseconds(0);
}

// A client stream we read (stdin, resize) as the backend sees it. Stop (the process exited;
// the client keeps stdin open until it has the exit status) must make a blocked Read return:
// resetting the stream (CANCEL) does that, and tells the client we read no more of it.
class SpdyInput final : public InputChannel {
 public:
  explicit SpdyInput(spdy::Stream& s) : s_(s) {}
  size_t Read(char* buf, size_t len) override { return stopped_ ? 0 : s_.Read(buf, len); }
  void Stop() override {
    if (!stopped_.exchange(true)) s_.Reset(5);
  }

 private:
  spdy::Stream& s_;
  std::atomic<bool> stopped_{false};
};

}  // namespace

std::string HeaderValue(const spdy::Headers& headers, const std::string& name) {
  for (const auto& [k, v] : headers) {
    if (::strcasecmp(k.c_str(), name.c_str()) == 0) return v;
  }
  return "";
}

void ServeSpdyRemoteCommand(spdy::Session& session, CancelSource& cancel, StreamBackend& backend,
                            const CachedRequest& request, const std::string& protocol,
                            const StreamingOptions& options, const Logger& logger) {
  bool stdin_ = false, stdout_ = false, stderr_ = false, tty = false;
  if (const auto* e = std::get_if<runtime::v1::ExecRequest>(&request)) {
    stdin_ = e->stdin(), stdout_ = e->stdout(), stderr_ = e->stderr(), tty = e->tty();
  } else if (const auto* a = std::get_if<runtime::v1::AttachRequest>(&request)) {
    stdin_ = a->stdin(), stdout_ = a->stdout(), stderr_ = a->stderr(), tty = a->tty();
  }
  bool resize_supported = protocol == "v4.channel.k8s.io" || protocol == "v3.channel.k8s.io";
  std::map<std::string, bool> expected = {{"error", true},
                                          {"stdin", stdin_},
                                          {"stdout", stdout_},
                                          {"stderr", stderr_ && !tty},
                                          {"resize", tty && resize_supported}};
  size_t want = 0;
  for (const auto& [type, on] : expected) want += on ? 1 : 0;

  std::map<std::string, std::shared_ptr<spdy::Stream>> streams;
  auto deadline = Clock::now() + options.stream_creation_timeout;
  while (streams.size() < want) {
    std::shared_ptr<spdy::Stream> s = session.Accept(Remaining(deadline));
    if (!s) {
      if (!session.Ended()) {
        logger.Warn("timed out waiting for the client to create streams", {{"protocol", protocol}});
      }
      return;
    }
    std::string type = HeaderValue(s->headers(), "streamType");
    auto it = expected.find(type);
    if (it == expected.end() || !it->second || streams.count(type)) {
      // Not a stream this request has (or a duplicate): refuse it, keep the session.
      logger.Warn("refusing unexpected stream", {{"stream_type", type}});
      s->Reset(1);
      continue;
    }
    streams[type] = std::move(s);
  }

  auto get = [&](const char* t) -> spdy::Stream* {
    auto it = streams.find(t);
    return it == streams.end() ? nullptr : it->second.get();
  };
  std::optional<SpdyInput> stdin_in, resize_in;
  std::optional<JsonResizeChannel> resize;
  if (spdy::Stream* r = get("resize")) resize.emplace(resize_in.emplace(*r));
  if (spdy::Stream* in = get("stdin")) stdin_in.emplace(*in);
  ExecStreams io;
  io.in = stdin_in ? &*stdin_in : nullptr;
  io.out = get("stdout");
  io.err = get("stderr");
  io.resize = resize ? &*resize : nullptr;
  io.tty = tty;
  io.cancel = &cancel;
  RunRemoteCommand(
      backend, request, io, get("error"),
      protocol == "v4.channel.k8s.io" ? ErrorFormat::kStatusJson : ErrorFormat::kPlainText);
  session.WaitEnded(kCloseGrace);
}

namespace {

struct PendingPair {
  std::shared_ptr<spdy::Stream> data, error;
  Clock::time_point created;
};

struct Worker {
  std::thread thread;
  std::shared_ptr<std::atomic<bool>> done;
};

void ReapWorkers(std::list<Worker>& workers) {
  for (auto it = workers.begin(); it != workers.end();) {
    if (it->done->load()) {
      it->thread.join();
      it = workers.erase(it);
    } else {
      ++it;
    }
  }
}

// kubelet's fallback for clients that send no requestID: consecutive stream ids per pair.
std::string RequestIdOf(const spdy::Stream& s, const std::string& type) {
  std::string id = HeaderValue(s.headers(), "requestID");
  if (!id.empty()) return id;
  return std::to_string(type == "error" ? s.id() : s.id() - 2);
}

}  // namespace

void ServeSpdyPortForward(spdy::Session& session, CancelSource& cancel, StreamBackend& backend,
                          const runtime::v1::PortForwardRequest& request,
                          const StreamingOptions& options, const Logger& logger) {
  std::vector<int32_t> allowed(request.port().begin(), request.port().end());
  std::map<std::string, PendingPair> pending;
  std::list<Worker> workers;
  while (!session.Ended()) {
    std::shared_ptr<spdy::Stream> s = session.Accept(milliseconds(500));
    ReapWorkers(workers);
    auto now = Clock::now();
    for (auto it = pending.begin(); it != pending.end();) {
      if (now - it->second.created < options.stream_creation_timeout) {
        ++it;
        continue;
      }
      logger.Warn("port-forward: timed out waiting for streams", {{"request_id", it->first}});
      if (it->second.error) {
        it->second.error->Write("timed out waiting for streams");
        it->second.error->Close();
      }
      if (it->second.data) it->second.data->Reset();
      it = pending.erase(it);
    }
    if (!s) continue;

    std::string type = HeaderValue(s->headers(), "streamType");
    std::string port_text = HeaderValue(s->headers(), "port");
    char* end = nullptr;
    unsigned long port = std::strtoul(port_text.c_str(), &end, 10);
    if (port_text.empty() || *end != '\0' || port < 1 || port > 65535 ||
        (type != "data" && type != "error")) {
      logger.Warn("port-forward: refusing stream with bad headers",
                  {{"stream_type", type}, {"port", port_text}});
      s->Reset(1);
      continue;
    }
    std::string id = RequestIdOf(*s, type);
    PendingPair& p = pending[id];
    if (p.created == Clock::time_point()) p.created = now;
    std::shared_ptr<spdy::Stream>& slot = type == "data" ? p.data : p.error;
    if (slot) {
      s->Reset(1);  // a second data (or error) stream for the same request
      continue;
    }
    slot = std::move(s);
    if (!p.data || !p.error) continue;

    auto pair = std::make_shared<PendingPair>(std::move(p));
    pending.erase(id);
    auto done = std::make_shared<std::atomic<bool>>(false);
    const std::string& pod = request.pod_sandbox_id();
    workers.push_back(Worker{std::thread([&backend, &cancel, pair, pod, allowed, done, port] {
                               ForwardChannels ch;
                               ch.in = pair->data.get();
                               ch.out = pair->data.get();
                               ch.error = pair->error.get();
                               ch.cancel = &cancel;
                               ch.abort_input = [pair] { pair->data->Reset(); };
                               ForwardOne(backend, pod, static_cast<uint16_t>(port), allowed, ch);
                               done->store(true);
                             }),
                             done});
  }
  // The session ended: `cancel` has fired and every pump is coming down.
  for (auto& w : workers) w.thread.join();
}

}  // namespace berth::streaming
