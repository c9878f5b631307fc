// cri_bench: pods and containers over the CRI gRPC API of a real berthd (temp root/state dirs,
// the overlay snapshotter, the native runtime, the `cni` network plugin with a bench-owned
// conflist: bridge "bbench<n>", 10.196.<n>.0/24, host-local in a temp dir, no masquerade).
//
//   1. latencies, median of --runs N (default 20): RunPodSandbox, CreateContainer,
//      StartContainer (a busybox `sleep` container per pod), StopPodSandbox, RemovePodSandbox;
//   2. BENCH_PODS pods (default 50) started one after the other (run pod + create + start its
//      container): total time;
//   3. berthd memory idle (before any pod) and with those pods running (VmRSS from
//      /proc/<pid>/status, Pss from smaps_rollup), and per pod: berth-shim Pss/Rss and
//      berth-pause Pss (bench pods share a PID namespace, so each has a berth-pause).
//
// Root. Prints medians; never fails on time (a non-zero exit means it could not run). Host
// safety: ip_forward is restored, a FORWARD DROP rule keeps traffic from the bench bridge on it,
// and the bridge is deleted at the end. containerd, when installed, is only reported: the same
// scenario against it (for ratios) is not implemented yet.
//   cri_bench [--runs N]        (BENCH_PODS=N: pods for the scale and memory figures)
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>

#include "api/cri.h"
#include "bench/support/bench_util.h"
#include "common/fs.h"
#include "images.grpc.pb.h"
#include "tests/support/berthd_process.h"
#include "tests/support/test_env.h"
#include "tests/support/test_pod_network.h"

namespace berth::bench {
namespace {

namespace cri = ::runtime::v1;
using Clock = std::chrono::steady_clock;
constexpr const char* kBusybox = "docker.io/library/busybox:test";

int Sh(const std::string& cmd) { return std::system(cmd.c_str()); }

std::string Out(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>/dev/null").c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

// A "Key:   123 kB" field of a /proc file, in KiB; -1 when absent.
long KbField(const std::string& path, const std::string& key) {
  Result<std::string> text = ReadFile(path);
  if (!text.ok()) return -1;
  std::string t = "\n" + *text;
  size_t at = t.find("\n" + key + ":");
  return at == std::string::npos ? -1L : std::stol(t.substr(at + key.size() + 2));
}
long PssKb(pid_t pid) { return KbField("/proc/" + std::to_string(pid) + "/smaps_rollup", "Pss"); }
long RssKb(pid_t pid) { return KbField("/proc/" + std::to_string(pid) + "/smaps_rollup", "Rss"); }
long VmRssKb(pid_t pid) { return KbField("/proc/" + std::to_string(pid) + "/status", "VmRSS"); }

long MedianKb(std::vector<long> v) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

class Bench {
 public:
  Bench(std::unique_ptr<testing::BerthdProcess> berthd, std::string shim_dir, std::string logs)
      : berthd_(std::move(berthd)), shim_dir_(std::move(shim_dir)), logs_(std::move(logs)) {
    auto ch = grpc::CreateChannel(berthd_->endpoint(), grpc::InsecureChannelCredentials());
    rt_ = cri::RuntimeService::NewStub(ch);
    images_ = berth::v1::Images::NewStub(ch);
  }

  testing::BerthdProcess& berthd() { return *berthd_; }

  bool Import(const std::string& layout) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    berth::v1::ImportImageRequest req;
    berth::v1::ImportImageResponse resp;
    req.set_path(layout);
    req.set_name(kBusybox);
    return Check(images_->Import(&ctx, req, &resp), "import");
  }

  cri::PodSandboxConfig PodConfig(int i) const {
    std::string name = "bench-" + std::to_string(i);
    cri::PodSandboxConfig c;
    c.mutable_metadata()->set_name(name);
    c.mutable_metadata()->set_namespace_("bench");
    c.mutable_metadata()->set_uid("uid-" + name);
    c.set_hostname(name);
    c.set_log_directory(logs_ + "/" + name);
    // A shared PID namespace, so each pod runs its berth-pause (measured per pod).
    c.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(cri::POD);
    return c;
  }

  // Each step timed on its own; false (with a message) when one fails.
  bool RunPod(const cri::PodSandboxConfig& c, std::string* id, double* ms) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    cri::RunPodSandboxRequest req;
    *req.mutable_config() = c;
    cri::RunPodSandboxResponse resp;
    auto t = Clock::now();
    grpc::Status s = rt_->RunPodSandbox(&ctx, req, &resp);
    *ms = MillisSince(t);
    *id = resp.pod_sandbox_id();
    return Check(s, "RunPodSandbox");
  }
  bool Create(const std::string& pod, const cri::PodSandboxConfig& pc, std::string* id,
              double* ms) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    cri::CreateContainerRequest req;
    req.set_pod_sandbox_id(pod);
    auto* c = req.mutable_config();
    c->mutable_metadata()->set_name("sleeper");
    c->mutable_image()->set_image(kBusybox);
    c->add_command("sleep");
    c->add_command("100000");
    c->set_log_path("sleeper.log");
    *req.mutable_sandbox_config() = pc;
    cri::CreateContainerResponse resp;
    auto t = Clock::now();
    grpc::Status s = rt_->CreateContainer(&ctx, req, &resp);
    *ms = MillisSince(t);
    *id = resp.container_id();
    return Check(s, "CreateContainer");
  }
  bool Start(const std::string& id, double* ms) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    cri::StartContainerRequest req;
    req.set_container_id(id);
    cri::StartContainerResponse resp;
    auto t = Clock::now();
    grpc::Status s = rt_->StartContainer(&ctx, req, &resp);
    *ms = MillisSince(t);
    return Check(s, "StartContainer");
  }
  bool StopPod(const std::string& id, double* ms) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    cri::StopPodSandboxRequest req;
    req.set_pod_sandbox_id(id);
    cri::StopPodSandboxResponse resp;
    auto t = Clock::now();
    grpc::Status s = rt_->StopPodSandbox(&ctx, req, &resp);
    *ms = MillisSince(t);
    return Check(s, "StopPodSandbox");
  }
  bool RemovePod(const std::string& id, double* ms) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    cri::RemovePodSandboxRequest req;
    req.set_pod_sandbox_id(id);
    cri::RemovePodSandboxResponse resp;
    auto t = Clock::now();
    grpc::Status s = rt_->RemovePodSandbox(&ctx, req, &resp);
    *ms = MillisSince(t);
    return Check(s, "RemovePodSandbox");
  }

  // berth-pause's pid from the pod's verbose status; -1 when absent.
  pid_t PausePid(const std::string& pod) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    cri::PodSandboxStatusRequest req;
    req.set_pod_sandbox_id(pod);
    req.set_verbose(true);
    cri::PodSandboxStatusResponse resp;
    if (!rt_->PodSandboxStatus(&ctx, req, &resp).ok() || !resp.info().count("info")) return -1;
    auto info = nlohmann::json::parse(resp.info().at("info"), nullptr, false);
    return info.is_object() && info.value("pid", 0) > 0 ? info.value("pid", 0) : -1;
  }
  // The container's shim (native runtime: <state_dir>/tasks/<id>/shim.pid); -1 when absent.
  pid_t ShimPid(const std::string& container) const {
    Result<std::string> pid = ReadFile(shim_dir_ + "/tasks/" + container + "/shim.pid");
    return pid.ok() ? static_cast<pid_t>(std::atol(pid->c_str())) : -1;
  }

 private:
  static void Deadline(grpc::ClientContext& ctx) {
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
  }
  bool Check(const grpc::Status& s, const char* what) {
    if (!s.ok()) {
      fprintf(stderr, "cri_bench: %s: %s\nberthd stderr (tail):\n%s\n", what,
              s.error_message().c_str(), Tail(berthd_->Stderr()).c_str());
    }
    return s.ok();
  }
  static std::string Tail(const std::string& s) {
    return s.size() > 3000 ? s.substr(s.size() - 3000) : s;
  }

  std::unique_ptr<testing::BerthdProcess> berthd_;
  std::string shim_dir_, logs_;
  std::unique_ptr<cri::RuntimeService::Stub> rt_;
  std::unique_ptr<berth::v1::Images::Stub> images_;
};

void PrintMemory(const char* label, pid_t pid) {
  printf("  berthd %-22s VmRSS %ld KiB, Pss %ld KiB\n", label, VmRssKb(pid), PssKb(pid));
}

int Main(int argc, char** argv) {
  if (!testing::WhyNotRoot().empty()) {
    fprintf(stderr, "cri_bench: %s\n", testing::WhyNotRoot().c_str());
    return 1;
  }
  int runs = RunsFlag(argc, argv, 20);
  const char* env_pods = getenv("BENCH_PODS");
  int pods = env_pods && atoi(env_pods) > 0 ? atoi(env_pods) : 50;
  if (pods > 250) pods = 250;  // one /24 of pod IPs

  testing::TempDir dir, shim_dir;  // shim sockets need a short path (107-byte sun_path)
  std::string images = dir.path() + "/images";
  if (Sh(std::string(BERTH_MAKE_TEST_IMAGES) + " " + images + " >/dev/null") != 0) {
    fprintf(stderr, "cri_bench: cannot build the test images\n");
    return 1;
  }
  // Host network setup owned by the bench: undone by the destructor.
  testing::TestPodNetwork net(dir.path(), "berth-bench", "bbench", 196);
  if (!net.Setup() || !net.WriteConflist({net.BridgePlugin()}, "10-bench.conflist")) {
    fprintf(stderr, "cri_bench: cannot set up the bench network\n");
    return 1;
  }
  nlohmann::json cfg = {
      {"snapshotter", "overlay"},
      {"plugins",
       {{"native", {{"state_dir", shim_dir.path()}}},
        {"cni", {{"conf_dir", net.conf_dir()}, {"bin_dirs", {"/usr/lib/cni"}}}}}}};
  if (!AtomicWriteFile(dir.path() + "/berthd.json", cfg.dump(2)).ok()) return 1;
  auto berthd = std::make_unique<testing::BerthdProcess>(
      std::vector<std::string>{"--config", dir.path() + "/berthd.json"}, BERTH_PLUGIN_BUILD_DIR);
  if (!berthd->Start(20000)) {
    fprintf(stderr, "cri_bench: berthd did not start:\n%s\n", berthd->Stderr().c_str());
    return 1;
  }
  Bench b(std::move(berthd), shim_dir.path(), dir.path() + "/logs");
  if (!b.Import(images + "/busybox")) return 1;
  pid_t dpid = b.berthd().pid();

  printf(
      "cri_bench: CRI over gRPC to berthd (overlay, native runtime, cni bridge); %d runs, "
      "%d pods\n",
      runs, pods);
  PrintMemory("idle (image imported):", dpid);

  // 1. Latencies: one pod with one container per run, torn down before the next.
  std::vector<double> run_ms, create_ms, start_ms, stop_ms, remove_ms;
  int next = 0;
  for (int i = 0; i < runs; ++i) {
    cri::PodSandboxConfig pc = b.PodConfig(next++);
    std::string pod, ctr;
    double ms;
    if (!b.RunPod(pc, &pod, &ms)) return 1;
    run_ms.push_back(ms);
    if (!b.Create(pod, pc, &ctr, &ms)) return 1;
    create_ms.push_back(ms);
    if (!b.Start(ctr, &ms)) return 1;
    start_ms.push_back(ms);
    if (!b.StopPod(pod, &ms)) return 1;
    stop_ms.push_back(ms);
    if (!b.RemovePod(pod, &ms)) return 1;
    remove_ms.push_back(ms);
  }
  printf("  RunPodSandbox:    %s\n", FormatSummary(Summarize(run_ms)).c_str());
  printf("  CreateContainer:  %s\n", FormatSummary(Summarize(create_ms)).c_str());
  printf("  StartContainer:   %s\n", FormatSummary(Summarize(start_ms)).c_str());
  printf("  StopPodSandbox:   %s  (stops the running container too)\n",
         FormatSummary(Summarize(stop_ms)).c_str());
  printf("  RemovePodSandbox: %s\n", FormatSummary(Summarize(remove_ms)).c_str());
  PrintMemory("idle (after the runs):", dpid);

  // 2. Scale: pods started one after the other, each with its container running.
  std::vector<std::string> ids;
  std::vector<std::string> ctrs;
  auto t0 = Clock::now();
  for (int i = 0; i < pods; ++i) {
    cri::PodSandboxConfig pc = b.PodConfig(next++);
    std::string pod, ctr;
    double ms;
    bool ok = b.RunPod(pc, &pod, &ms);
    if (ok) ids.push_back(pod);
    ok = ok && b.Create(pod, pc, &ctr, &ms) && b.Start(ctr, &ms);
    if (!ok) {
      fprintf(stderr, "cri_bench: pod %d of %d failed\n", i + 1, pods);
      break;
    }
    ctrs.push_back(ctr);
  }
  double total = MillisSince(t0);
  printf(
      "  %zu pods started sequentially (run pod + create + start): %.0f ms total, %.1f ms "
      "per pod\n",
      ctrs.size(), total, ctrs.empty() ? 0.0 : total / ctrs.size());

  // 3. Memory with the pods running.
  char label[64];
  snprintf(label, sizeof label, "with %zu pods running:", ctrs.size());
  PrintMemory(label, dpid);
  std::vector<long> shim_pss, shim_rss, pause_pss;
  for (size_t i = 0; i < ctrs.size(); ++i) {
    pid_t shim = b.ShimPid(ctrs[i]);
    if (shim > 0) {
      shim_pss.push_back(PssKb(shim));
      shim_rss.push_back(RssKb(shim));
    }
    pid_t pause = b.PausePid(ids[i]);
    if (pause > 0) pause_pss.push_back(PssKb(pause));
  }
  printf(
      "  per pod: berth-shim Pss median %ld KiB, Rss median %ld KiB (%zu shims); "
      "berth-pause Pss median %ld KiB (%zu)\n",
      MedianKb(shim_pss), MedianKb(shim_rss), shim_pss.size(), MedianKb(pause_pss),
      pause_pss.size());
  if (!shim_pss.empty()) {
    long sum = 0;
    for (long v : shim_pss) sum += v;
    for (long v : pause_pss) sum += v;
    printf("  all shims + pauses: Pss %ld KiB total, %ld KiB per pod\n", sum,
           sum / static_cast<long>(shim_pss.size()));
  }

  bool clean = true;
  for (const std::string& id : ids) {
    double ms;
    clean = b.RemovePod(id, &ms) && clean;
  }
  std::string containerd = Out("command -v containerd");
  if (containerd.empty()) {
    printf("  containerd not installed: no ratios\n");
  } else {
    printf("  containerd found at %s: the comparison run is not implemented yet: no ratios\n",
           containerd.c_str());
  }
  b.berthd().Stop(SIGTERM);
  return clean ? 0 : 1;
}

}  // namespace
}  // namespace berth::bench

int main(int argc, char** argv) { return berth::bench::Main(argc, argv); }
