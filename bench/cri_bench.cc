// cri_bench: pods and containers over the CRI gRPC API of a real berthd (temp root/state dirs,
// the overlay snapshotter, the native runtime, the `cni` network plugin with a bench-owned
// conflist: bridge "bbench<n>", 10.196.<n>.0/24, host-local in a temp dir, no masquerade).
//
//   1. latencies, median of --runs N (default 20): RunPodSandbox, CreateContainer,
//      StartContainer (a busybox `sleep` container per pod), StopPodSandbox, RemovePodSandbox;
//   2. BENCH_PODS pods (default 50) started one after the other (run pod + create + start its
//      container): total time;
//   3. berthd memory idle (before any pod) and with those pods running (VmRSS from
//      /proc/<pid>/status, Pss from smaps_rollup), and per pod: the berth-shims' Pss/Rss (the
//      container's and the infra container's) and the infra process's Pss (bench pods share a
//      PID namespace, so each runs the sandbox image's /pause).
//
// When Debian's containerd is installed, the same scenario then runs against it (its CRI plugin,
// runc, the same conflist, the test images imported with ctr, the same pause image (bench_pause)
// as its sandbox image;
// see tests/support/containerd_process.h) and the ratios containerd/berth are printed.
//
// Root. Prints medians; never fails on time (a non-zero exit means it could not run). Host
// safety: ip_forward is restored, a FORWARD DROP rule keeps traffic from the bench bridge on it,
// and the bridge is deleted at the end.
//   cri_bench [--runs N] [--no-containerd]   (BENCH_PODS=N: pods for the scale and memory figures)
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
#include "bench/support/bench_berthd.h"
#include "bench/support/bench_util.h"
#include "common/fs.h"
#include "images.grpc.pb.h"
#include "tests/support/berthd_process.h"
#include "tests/support/containerd_process.h"
#include "tests/support/test_env.h"
#include "tests/support/test_pod_network.h"

namespace berth::bench {
namespace {

namespace cri = ::runtime::v1;
using Clock = std::chrono::steady_clock;
constexpr const char* kBusybox = "docker.io/library/busybox:test";

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

std::string Tail(const std::string& s) { return s.size() > 3000 ? s.substr(s.size() - 3000) : s; }

long MedianKb(std::vector<long> v) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// One CRI endpoint under test: berthd, or containerd for the ratios.
struct Target {
  std::string name;      // "berthd", "containerd"
  std::string endpoint;  // unix://...
  pid_t daemon_pid = -1;
  std::string image;                      // the busybox test image as the target names it
  std::function<std::string()> log_tail;  // for error messages
  // The per-pod supervisor processes of a pod (berth: the container's berth-shim; containerd:
  // the pod's containerd-shim-runc-v2).
  std::function<std::vector<pid_t>(const std::string& pod, const std::string& ctr)> shims;
};

class Bench {
 public:
  Bench(const Target& target, std::string logs) : target_(target), logs_(std::move(logs)) {
    auto ch = grpc::CreateChannel(target_.endpoint, grpc::InsecureChannelCredentials());
    rt_ = cri::RuntimeService::NewStub(ch);
  }

  cri::PodSandboxConfig PodConfig(int i) const {
    std::string name = "bench-" + std::to_string(i);
    cri::PodSandboxConfig c;
    c.mutable_metadata()->set_name(name);
    c.mutable_metadata()->set_namespace_("bench");
    c.mutable_metadata()->set_uid("uid-" + name);
    c.set_hostname(name);
    c.set_log_directory(logs_ + "/" + name);
    // A shared PID namespace, so each pod has an infra container (the sandbox image's /pause;
    // containerd's sandbox container always exists): measured per pod.
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
    c->mutable_image()->set_image(target_.image);
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

  // The pod's infra process from its verbose status ("pid" in berth's and containerd's
  // info); -1 when absent.
  pid_t InfraPid(const std::string& pod) {
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

 private:
  static void Deadline(grpc::ClientContext& ctx) {
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
  }
  bool Check(const grpc::Status& s, const char* what) {
    if (!s.ok()) {
      fprintf(stderr, "cri_bench: %s %s: %s\n%s log (tail):\n%s\n", target_.name.c_str(), what,
              s.error_message().c_str(), target_.name.c_str(), target_.log_tail().c_str());
    }
    return s.ok();
  }

  const Target& target_;
  std::string logs_;
  std::unique_ptr<cri::RuntimeService::Stub> rt_;
};

// The figures of one target, for the ratios.
struct Figures {
  double run = 0, create = 0, start = 0, stop = 0, remove = 0;  // medians, ms
  double per_pod_ms = 0;
  long idle_rss_kb = 0, loaded_rss_kb = 0;
  long per_pod_kb = 0;  // supervisor(s) + infra Pss per pod
  bool ok = false;
};

void PrintMemory(const Target& t, const char* label) {
  printf("  %s %-22s VmRSS %ld KiB, Pss %ld KiB\n", t.name.c_str(), label, VmRssKb(t.daemon_pid),
         PssKb(t.daemon_pid));
}

// The whole scenario (header comment) against one target; `first_pod` keeps pod names unique.
Figures RunScenario(const Target& t, const std::string& logs, int runs, int pods) {
  Figures f;
  Bench b(t, logs);
  f.idle_rss_kb = VmRssKb(t.daemon_pid);
  PrintMemory(t, "idle (image imported):");

  // 1. Latencies: one pod with one container per run, torn down before the next.
  std::vector<double> run_ms, create_ms, start_ms, stop_ms, remove_ms;
  int next = 0;
  for (int i = 0; i < runs; ++i) {
    cri::PodSandboxConfig pc = b.PodConfig(next++);
    std::string pod, ctr;
    double ms;
    if (!b.RunPod(pc, &pod, &ms)) return f;
    run_ms.push_back(ms);
    if (!b.Create(pod, pc, &ctr, &ms)) return f;
    create_ms.push_back(ms);
    if (!b.Start(ctr, &ms)) return f;
    start_ms.push_back(ms);
    if (!b.StopPod(pod, &ms)) return f;
    stop_ms.push_back(ms);
    if (!b.RemovePod(pod, &ms)) return f;
    remove_ms.push_back(ms);
  }
  printf("  RunPodSandbox:    %s\n", FormatSummary(Summarize(run_ms)).c_str());
  printf("  CreateContainer:  %s\n", FormatSummary(Summarize(create_ms)).c_str());
  printf("  StartContainer:   %s\n", FormatSummary(Summarize(start_ms)).c_str());
  printf("  StopPodSandbox:   %s  (stops the running container too)\n",
         FormatSummary(Summarize(stop_ms)).c_str());
  printf("  RemovePodSandbox: %s\n", FormatSummary(Summarize(remove_ms)).c_str());
  f.run = Summarize(run_ms).median_ms;
  f.create = Summarize(create_ms).median_ms;
  f.start = Summarize(start_ms).median_ms;
  f.stop = Summarize(stop_ms).median_ms;
  f.remove = Summarize(remove_ms).median_ms;
  PrintMemory(t, "idle (after the runs):");

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
      fprintf(stderr, "cri_bench: %s: pod %d of %d failed\n", t.name.c_str(), i + 1, pods);
      break;
    }
    ctrs.push_back(ctr);
  }
  double total = MillisSince(t0);
  f.per_pod_ms = ctrs.empty() ? 0.0 : total / ctrs.size();
  printf(
      "  %zu pods started sequentially (run pod + create + start): %.0f ms total, %.1f ms "
      "per pod\n",
      ctrs.size(), total, f.per_pod_ms);

  // 3. Memory with the pods running.
  char label[64];
  snprintf(label, sizeof label, "with %zu pods running:", ctrs.size());
  f.loaded_rss_kb = VmRssKb(t.daemon_pid);
  PrintMemory(t, label);
  std::vector<long> shim_pss, shim_rss, infra_pss;
  for (size_t i = 0; i < ctrs.size(); ++i) {
    long pss = 0, rss = 0;
    std::vector<pid_t> shims = t.shims(ids[i], ctrs[i]);
    for (pid_t shim : shims) {
      pss += PssKb(shim);
      rss += RssKb(shim);
    }
    if (!shims.empty()) {
      shim_pss.push_back(pss);
      shim_rss.push_back(rss);
    }
    pid_t infra = b.InfraPid(ids[i]);
    if (infra > 0) infra_pss.push_back(PssKb(infra));
  }
  printf(
      "  per pod: supervisor Pss median %ld KiB, Rss median %ld KiB (%zu pods); "
      "infra process Pss median %ld KiB (%zu)\n",
      MedianKb(shim_pss), MedianKb(shim_rss), shim_pss.size(), MedianKb(infra_pss),
      infra_pss.size());
  if (!shim_pss.empty()) {
    long sum = 0;
    for (long v : shim_pss) sum += v;
    for (long v : infra_pss) sum += v;
    f.per_pod_kb = sum / static_cast<long>(shim_pss.size());
    printf("  all supervisors + infra processes: Pss %ld KiB total, %ld KiB per pod\n", sum,
           f.per_pod_kb);
  }

  bool clean = true;
  for (const std::string& id : ids) {
    double ms;
    clean = b.RemovePod(id, &ms) && clean;
  }
  f.ok = clean && static_cast<int>(ctrs.size()) == pods;
  return f;
}

void PrintRatios(const Figures& berth, const Figures& other) {
  auto ratio = [](double o, double b) { return b > 0 ? o / b : 0.0; };
  printf("ratios containerd / berth (higher = berth faster or smaller):\n");
  printf(
      "  RunPodSandbox %.2fx, CreateContainer %.2fx, StartContainer %.2fx, "
      "StopPodSandbox %.2fx, RemovePodSandbox %.2fx\n",
      ratio(other.run, berth.run), ratio(other.create, berth.create),
      ratio(other.start, berth.start), ratio(other.stop, berth.stop),
      ratio(other.remove, berth.remove));
  printf(
      "  per pod started sequentially %.2fx; daemon VmRSS idle %.2fx, loaded %.2fx; "
      "supervisor+infra Pss per pod %.2fx\n",
      ratio(other.per_pod_ms, berth.per_pod_ms),
      ratio(static_cast<double>(other.idle_rss_kb), static_cast<double>(berth.idle_rss_kb)),
      ratio(static_cast<double>(other.loaded_rss_kb), static_cast<double>(berth.loaded_rss_kb)),
      ratio(static_cast<double>(other.per_pod_kb), static_cast<double>(berth.per_pod_kb)));
}

int Main(int argc, char** argv) {
  if (!testing::WhyNotRoot().empty()) {
    fprintf(stderr, "cri_bench: %s\n", testing::WhyNotRoot().c_str());
    return 1;
  }
  int runs = RunsFlag(argc, argv, 20);
  bool with_containerd = true;
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "--no-containerd") with_containerd = false;
  const char* env_pods = getenv("BENCH_PODS");
  int pods = env_pods && atoi(env_pods) > 0 ? atoi(env_pods) : 50;
  if (pods > 250) pods = 250;  // one /24 of pod IPs

  BenchBerthd env("cri_bench", "bbench", 196);
  if (!env.Start()) return 1;
  testing::BerthdProcess& berthd = env.berthd();
  std::string images = env.images();
  if (!env.Import(images + "/busybox", kBusybox)) return 1;

  Target bt;
  bt.name = "berthd";
  bt.endpoint = berthd.endpoint();
  bt.daemon_pid = berthd.pid();
  bt.image = kBusybox;
  bt.log_tail = [&] { return Tail(berthd.Stderr()); };
  std::string tasks = env.shim_dir() + "/tasks/";
  // The container's shim and the pod's infra container's (its task id is the pod id).
  bt.shims = [tasks](const std::string& pod, const std::string& ctr) {
    std::vector<pid_t> out;
    for (const std::string& task : {ctr, pod}) {
      Result<std::string> pid = ReadFile(tasks + task + "/shim.pid");
      if (pid.ok() && std::atol(pid->c_str()) > 0) out.push_back(std::atol(pid->c_str()));
    }
    return out;
  };
  printf(
      "cri_bench: CRI over gRPC to berthd (overlay, native runtime, cni bridge); %d runs, "
      "%d pods\n",
      runs, pods);
  Figures bf = RunScenario(bt, env.dir() + "/logs", runs, pods);
  berthd.Stop(SIGTERM);
  if (!bf.ok) return 1;

  if (!with_containerd) return 0;
  if (!testing::ContainerdInstalled()) {
    printf("containerd not installed (apt-get install containerd): no ratios\n");
    return 0;
  }
  testing::ContainerdProcess ctd(env.dir() + "/containerd", env.net().conf_dir());
  if (!ctd.Start() || !ctd.Import(images + "/busybox", "docker.io/library/bench_busybox") ||
      !ctd.Import(images + "/pause", "docker.io/library/bench_pause")) {
    fprintf(stderr, "cri_bench: containerd could not be prepared:\n%s\n", Tail(ctd.Log()).c_str());
    return 1;
  }
  Target ct;
  ct.name = "containerd";
  ct.endpoint = ctd.endpoint();
  ct.daemon_pid = ctd.pid();
  ct.image = "docker.io/library/bench_busybox:latest";
  ct.log_tail = [&] { return Tail(ctd.Log()); };
  ct.shims = [&](const std::string& pod, const std::string&) { return ctd.ShimPids(pod); };
  printf("cri_bench: the same against containerd %s (CRI plugin, runc, overlayfs, same conflist)\n",
         ctd.Version().c_str());
  Figures cf = RunScenario(ct, env.dir() + "/logs-containerd", runs, pods);
  ctd.Stop();
  if (!cf.ok) return 1;
  PrintRatios(bf, cf);
  return 0;
}

}  // namespace
}  // namespace berth::bench

int main(int argc, char** argv) { return berth::bench::Main(argc, argv); }
