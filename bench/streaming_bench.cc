// streaming_bench: exec round trips and port-forward throughput through a real berthd (temp
// root/state dirs, the overlay snapshotter, the native runtime, the `cni` network plugin with a
// bench-owned conflist: bridge "bsbch<n>", 10.192.<n>.0/24, no masquerade) and berthctl's
// streaming client library (cli/streaming), in process:
//
//   1. median of --runs N (default 20) round trips of `true` in a running busybox container:
//      ExecSync over gRPC; streaming exec (the Exec RPC, the upgrade, the streams, the exit
//      status) over SPDY/3.1 and over WebSocket;
//   2. port-forward throughput on loopback: a BENCH_PF_MIB (default 256) MiB file fetched from
//      busybox httpd in the pod through a port-forward, over SPDY and WebSocket (median of 3).
//
// Root. Prints figures; never fails on time (a non-zero exit means it could not run). Host
// safety as in cri_bench: ip_forward restored, a FORWARD DROP rule for the bench bridge, the
// bridge deleted at the end.
//   streaming_bench [--runs N]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>

#include "api/cri.h"
#include "bench/support/bench_berthd.h"
#include "bench/support/bench_util.h"
#include "cli/streaming/local_io.h"
#include "cli/streaming/port_forward.h"
#include "cli/streaming/remote_command.h"
#include "common/fs.h"
#include "images.grpc.pb.h"
#include "tests/support/berthd_process.h"
#include "tests/support/test_env.h"
#include "tests/support/test_pod_network.h"

namespace berth::bench {
namespace {

namespace cri = ::runtime::v1;
namespace cs = berth::cli::streaming;
using Clock = std::chrono::steady_clock;
constexpr const char* kBusybox = "docker.io/library/busybox:test";

grpc::ClientContext* Deadline(grpc::ClientContext& ctx, int s = 120) {
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(s));
  return &ctx;
}

bool Check(const grpc::Status& s, const char* what) {
  if (!s.ok()) fprintf(stderr, "streaming_bench: %s: %s\n", what, s.error_message().c_str());
  return s.ok();
}

class Bench {
 public:
  explicit Bench(const std::string& endpoint) {
    auto ch = grpc::CreateChannel(endpoint, grpc::InsecureChannelCredentials());
    rt_ = cri::RuntimeService::NewStub(ch);
  }

  bool RunPod(const std::string& logs) {
    pod_config_.mutable_metadata()->set_name("stream-bench");
    pod_config_.mutable_metadata()->set_namespace_("bench");
    pod_config_.mutable_metadata()->set_uid("uid-stream-bench");
    pod_config_.set_log_directory(logs);
    grpc::ClientContext ctx;
    cri::RunPodSandboxRequest req;
    cri::RunPodSandboxResponse resp;
    *req.mutable_config() = pod_config_;
    if (!Check(rt_->RunPodSandbox(Deadline(ctx), req, &resp), "RunPodSandbox")) return false;
    pod_ = resp.pod_sandbox_id();
    return true;
  }

  std::string Run(const std::string& name, const std::vector<std::string>& cmd) {
    cri::ContainerConfig c;
    c.mutable_metadata()->set_name(name);
    c.mutable_image()->set_image(kBusybox);
    for (auto& a : cmd) c.add_command(a);
    c.set_log_path(name + ".log");
    grpc::ClientContext ctx;
    cri::CreateContainerRequest req;
    cri::CreateContainerResponse resp;
    req.set_pod_sandbox_id(pod_);
    *req.mutable_config() = c;
    *req.mutable_sandbox_config() = pod_config_;
    if (!Check(rt_->CreateContainer(Deadline(ctx), req, &resp), "CreateContainer")) return "";
    grpc::ClientContext ctx2;
    cri::StartContainerRequest sreq;
    cri::StartContainerResponse sresp;
    sreq.set_container_id(resp.container_id());
    if (!Check(rt_->StartContainer(Deadline(ctx2), sreq, &sresp), "StartContainer")) return "";
    return resp.container_id();
  }

  void RemovePod() {
    if (pod_.empty()) return;
    grpc::ClientContext ctx;
    cri::RemovePodSandboxRequest req;
    cri::RemovePodSandboxResponse resp;
    req.set_pod_sandbox_id(pod_);
    Check(rt_->RemovePodSandbox(Deadline(ctx), req, &resp), "RemovePodSandbox");
  }

  // ExecSync; the exit code, -1 on an RPC error.
  int ExecSync(const std::string& id, const std::vector<std::string>& cmd) {
    grpc::ClientContext ctx;
    cri::ExecSyncRequest req;
    cri::ExecSyncResponse resp;
    req.set_container_id(id);
    for (auto& a : cmd) req.add_cmd(a);
    req.set_timeout(300);
    if (!Check(rt_->ExecSync(Deadline(ctx, 400), req, &resp), "ExecSync")) return -1;
    return resp.exit_code();
  }

  // One streaming exec of `true` (RPC + stream); false when it failed.
  bool StreamExecTrue(const std::string& id, cs::Transport transport) {
    grpc::ClientContext ctx;
    cri::ExecRequest req;
    cri::ExecResponse resp;
    req.set_container_id(id);
    req.add_cmd("true");
    req.set_stdout(true);
    req.set_stderr(true);
    if (!Check(rt_->Exec(Deadline(ctx), req, &resp), "Exec")) return false;
    std::ostringstream out, err;
    std::istringstream in;
    cs::StreamOutput so(out), se(err);
    cs::StreamInput si(in);
    cs::RemoteCommandOptions o;
    o.transport = transport;
    cs::LocalStreams local{&si, &so, &se, nullptr};
    Result<int> r = cs::StreamRemoteCommand(resp.url(), o, local);
    if (!r.ok() || *r != 0) {
      fprintf(stderr, "streaming_bench: streaming exec: %s\n",
              r.ok() ? ("exit " + std::to_string(*r)).c_str() : r.status().ToString().c_str());
      return false;
    }
    return true;
  }

  Result<std::string> PortForwardUrl(uint16_t port) {
    grpc::ClientContext ctx;
    cri::PortForwardRequest req;
    cri::PortForwardResponse resp;
    req.set_pod_sandbox_id(pod_);
    req.add_port(port);
    grpc::Status s = rt_->PortForward(Deadline(ctx), req, &resp);
    if (!s.ok()) return Unavailable(s.error_message());
    return resp.url();
  }

 private:
  std::unique_ptr<cri::RuntimeService::Stub> rt_;
  cri::PodSandboxConfig pod_config_;
  std::string pod_;
};

// GETs `path` from 127.0.0.1:port; the body size (bytes after the header), -1 on failure.
int64_t HttpGetSize(uint16_t port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a {};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  struct timeval tv = {60, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  int64_t total = 0, header = -1;
  std::string head;
  if (::connect(fd, reinterpret_cast<struct sockaddr*>(&a), sizeof a) == 0) {
    std::string req = "GET " + path + " HTTP/1.0\r\nHost: pod\r\n\r\n";
    (void)!::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
    static char buf[256 * 1024];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) {
      if (header < 0 && head.size() < 65536) {
        head.append(buf, std::min<size_t>(n, 65536));
        size_t end = head.find("\r\n\r\n");
        if (end != std::string::npos) header = static_cast<int64_t>(end + 4);
      }
      total += n;
    }
  }
  ::close(fd);
  return header < 0 ? -1 : total - header;
}

int Main(int argc, char** argv) {
  if (!testing::WhyNotRoot().empty()) {
    fprintf(stderr, "streaming_bench: %s\n", testing::WhyNotRoot().c_str());
    return 1;
  }
  int runs = RunsFlag(argc, argv, 20);
  if (runs < 20) runs = 20;  // medians over at least 20 round trips
  const char* env_mib = getenv("BENCH_PF_MIB");
  int64_t mib = env_mib && atoi(env_mib) > 0 ? atoi(env_mib) : 256;

  BenchBerthd env("streaming_bench", "bsbch", 192);
  if (!env.Start()) return 1;
  testing::BerthdProcess& berthd = env.berthd();
  std::string images = env.images();
  Bench b(berthd.endpoint());
  if (!env.Import(images + "/busybox", kBusybox) || !b.RunPod(env.dir() + "/logs")) return 1;
  int rc = 0;
  std::string main = b.Run("main", {"sleep", "100000"});
  std::string web = b.Run("web", {"sh", "-c", "mkdir -p /www && exec httpd -f -p 8080 -h /www"});
  if (main.empty() || web.empty()) rc = 1;

  if (rc == 0) {
    printf("streaming_bench: exec round trip of `true` (%d runs each)\n", runs);
    std::vector<double> sync_ms, spdy_ms, ws_ms;
    for (int i = 0; i < runs && rc == 0; ++i) {
      auto t0 = Clock::now();
      if (b.ExecSync(main, {"true"}) != 0) rc = 1;
      sync_ms.push_back(MillisSince(t0));
      t0 = Clock::now();
      if (!b.StreamExecTrue(main, cs::Transport::kSpdy)) rc = 1;
      spdy_ms.push_back(MillisSince(t0));
      t0 = Clock::now();
      if (!b.StreamExecTrue(main, cs::Transport::kWebSocket)) rc = 1;
      ws_ms.push_back(MillisSince(t0));
    }
    printf("  ExecSync:                %s\n", FormatSummary(Summarize(sync_ms)).c_str());
    printf("  streaming exec, SPDY:    %s\n", FormatSummary(Summarize(spdy_ms)).c_str());
    printf("  streaming exec, WebSocket: %s\n", FormatSummary(Summarize(ws_ms)).c_str());
  }

  if (rc == 0) {
    uint64_t bytes = static_cast<uint64_t>(mib) * 1024 * 1024;
    if (b.ExecSync(web, {"sh", "-c",
                         "head -c " + std::to_string(bytes) + " /dev/urandom > /www/big"}) != 0) {
      rc = 1;
    }
    printf("streaming_bench: port-forward download of %lld MiB from busybox httpd in the pod\n",
           static_cast<long long>(mib));
    for (cs::Transport t : {cs::Transport::kSpdy, cs::Transport::kWebSocket}) {
      if (rc != 0) break;
      const char* name = t == cs::Transport::kSpdy ? "SPDY" : "WebSocket";
      auto first = b.PortForwardUrl(8080);
      if (!first.ok()) {
        fprintf(stderr, "streaming_bench: PortForward: %s\n", first.status().ToString().c_str());
        rc = 1;
        break;
      }
      std::ostringstream out, err;
      cs::StreamOutput so(out), se(err);
      cs::PortForwardOptions o;
      o.transport = t;
      auto pf = cs::PortForwarder::Start(
          *first, [&](uint16_t port) { return b.PortForwardUrl(port); }, {cs::PortSpec{0, 8080}}, o,
          &so, &se);
      if (!pf.ok()) {
        fprintf(stderr, "streaming_bench: port-forward: %s\n", pf.status().ToString().c_str());
        rc = 1;
        break;
      }
      uint16_t local = (*pf)->ports()[0].local;
      std::vector<double> mbps;
      for (int i = 0; i < 3; ++i) {
        auto t0 = Clock::now();
        int64_t got = HttpGetSize(local, "/big");
        double ms = MillisSince(t0);
        if (got != static_cast<int64_t>(bytes)) {
          fprintf(stderr, "streaming_bench: %s: got %lld of %llu bytes\n%s", name,
                  static_cast<long long>(got), static_cast<unsigned long long>(bytes),
                  err.str().c_str());
          rc = 1;
          break;
        }
        mbps.push_back(Throughput(bytes, ms));
      }
      (*pf)->Stop();
      if (!mbps.empty()) {
        std::sort(mbps.begin(), mbps.end());
        printf("  %-10s median %.1f MB/s  (min %.1f, max %.1f; %zu runs)\n", name,
               mbps[mbps.size() / 2], mbps.front(), mbps.back(), mbps.size());
      }
    }
    b.ExecSync(web, {"rm", "-f", "/www/big"});
  }
  if (rc != 0) {
    std::string log = berthd.Stderr();
    fprintf(stderr, "berthd log (tail):\n%s\n",
            log.size() > 4000 ? log.substr(log.size() - 4000).c_str() : log.c_str());
  }
  b.RemovePod();
  berthd.Stop(SIGTERM);
  return rc;
}

}  // namespace
}  // namespace berth::bench

int main(int argc, char** argv) { return berth::bench::Main(argc, argv); }
