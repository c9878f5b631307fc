// runtime_bench: a `true` container, created + started + waited for (exit event) + deleted,
// through the `native` and `oci` (runc) runtime plugins loaded from plugins.d by the real
// PluginHost; the start latency (Start rpc) on its own; shim Pss/Rss per running container; and,
// for a ratio, the bare `runc run` (and `crun run` where it can run) of the same bundle.
// Root. Prints medians; never fails on time.
//   runtime_bench [--runs N]        (BENCH_SHIMS=N: running containers for the memory figures)
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/support/bench_util.h"
#include "berth/plugin/v1/runtime.pb.h"
#include "common/fs.h"
#include "cri/plugin_host/plugin_host.h"
#include "tests/support/test_env.h"

namespace berth::bench {
namespace {

namespace pv1 = ::berth::plugin::v1;
using Clock = std::chrono::steady_clock;

int Sh(const std::string& cmd) { return std::system(cmd.c_str()); }

// The busybox rootfs of scripts/make-test-images, unpacked into `dir`/rootfs.
bool MakeRootfs(const std::string& dir) {
  std::string images = dir + "/images";
  if (Sh(std::string(BERTH_MAKE_TEST_IMAGES) + " " + images + " >/dev/null") != 0) return false;
  std::string layout = images + "/busybox";
  auto blob = [&](const std::string& digest) {
    return layout + "/blobs/sha256/" + digest.substr(7);
  };
  auto index = nlohmann::json::parse(*ReadFile(layout + "/index.json"));
  auto manifest = nlohmann::json::parse(*ReadFile(blob(index["manifests"][0]["digest"])));
  return Sh("mkdir -p " + dir + "/rootfs && tar -xzf " + blob(manifest["layers"][0]["digest"]) +
            " -C " + dir + "/rootfs") == 0;
}

// What `runc spec` generates (no terminal), with a cgroup.
nlohmann::json Spec(std::vector<std::string> args, const std::string& cgroup) {
  return {{"ociVersion", "1.1.0"},
          {"process",
           {{"args", args},
            {"env", {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}},
            {"cwd", "/"},
            {"user", {{"uid", 0}, {"gid", 0}}},
            {"noNewPrivileges", true}}},
          {"root", {{"path", "rootfs"}}},
          {"hostname", "bench"},
          {"mounts",
           {{{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
            {{"destination", "/dev"},
             {"type", "tmpfs"},
             {"source", "tmpfs"},
             {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}},
            {{"destination", "/dev/pts"},
             {"type", "devpts"},
             {"source", "devpts"},
             {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}}},
            {{"destination", "/sys"},
             {"type", "sysfs"},
             {"source", "sysfs"},
             {"options", {"nosuid", "noexec", "nodev", "ro"}}}}},
          {"linux",
           {{"namespaces",
             {{{"type", "pid"}},
              {{"type", "network"}},
              {{"type", "ipc"}},
              {{"type", "uts"}},
              {{"type", "mount"}}}},
            {"cgroupsPath", cgroup},
            {"maskedPaths", {"/proc/kcore", "/proc/keys", "/sys/firmware"}},
            {"readonlyPaths", {"/proc/sys", "/proc/sysrq-trigger"}}}}};
}

std::pair<long, long> PssRssKb(pid_t pid) {
  Result<std::string> text = ReadFile("/proc/" + std::to_string(pid) + "/smaps_rollup");
  if (!text.ok()) return {-1, -1};
  auto field = [&](const std::string& key) {
    size_t at = text->find("\n" + key + ":");
    return at == std::string::npos ? -1L : std::stol(text->substr(at + key.size() + 2));
  };
  return {field("Pss"), field("Rss")};
}

// One plugin instance with an exit-event waiter.
class Runtime {
 public:
  Runtime(const std::string& plugin, nlohmann::json config) {
    host_ = std::make_unique<PluginHost>(Logger(LogLevel::kError),
                                         nlohmann::json{{plugin, std::move(config)}});
    host_->SetEventSink([this](std::string_view, std::string_view topic, std::string_view data) {
      pv1::TaskExitEvent ev;
      if (topic != "/tasks/exit" || !ev.ParseFromArray(data.data(), static_cast<int>(data.size())))
        return;
      std::lock_guard<std::mutex> lock(mu_);
      exited_.insert(ev.id());
      cv_.notify_all();
    });
    host_->LoadAll({BERTH_PLUGIN_BUILD_DIR});
    rt_ = host_->Find("io.berth.runtime.v1", plugin);
  }
  bool ok() const { return rt_ != nullptr; }

  Status Create(const std::string& id, const std::string& bundle, pv1::CreateTaskResponse* r) {
    pv1::CreateTaskRequest req;
    req.set_id(id);
    req.set_bundle(bundle);
    return rt_->Invoke("Create", req, r);
  }
  Status Start(const std::string& id) {
    pv1::StartTaskRequest req;
    req.set_id(id);
    pv1::StartTaskResponse resp;
    return rt_->Invoke("Start", req, &resp);
  }
  Status Kill(const std::string& id) {
    pv1::KillTaskRequest req;
    req.set_id(id);
    req.set_signal(SIGKILL);
    pv1::KillTaskResponse resp;
    return rt_->Invoke("Kill", req, &resp);
  }
  Status Delete(const std::string& id) {
    pv1::DeleteTaskRequest req;
    req.set_id(id);
    pv1::DeleteTaskResponse resp;
    return rt_->Invoke("Delete", req, &resp);
  }
  bool WaitExit(const std::string& id) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(30), [&] { return exited_.count(id) > 0; });
  }

 private:
  std::unique_ptr<PluginHost> host_;
  PluginHandle* rt_ = nullptr;
  std::mutex mu_;
  std::condition_variable cv_;
  std::set<std::string> exited_;
};

struct PluginFigures {
  std::vector<double> total, create, start;
  std::vector<long> pss, rss;
};

// create + start + wait + delete of `true`, `runs` times; then `shims` running containers for
// the memory figures.
bool BenchPlugin(const std::string& label, const std::string& plugin, nlohmann::json config,
                 const std::string& bundle, int runs, int shims, PluginFigures* out) {
  Runtime rt(plugin, std::move(config));
  if (!rt.ok()) {
    fprintf(stderr, "runtime_bench: plugin %s did not load\n", plugin.c_str());
    return false;
  }
  std::string cgroup = "/berth-bench-" + std::to_string(getpid());
  if (!AtomicWriteFile(bundle + "/config.json", Spec({"true"}, cgroup).dump()).ok()) return false;
  for (int i = 0; i < runs + 1; ++i) {  // run 0 warms caches, not counted
    std::string id = label + "-" + std::to_string(i);
    pv1::CreateTaskResponse cr;
    auto t0 = Clock::now();
    Status s = rt.Create(id, bundle, &cr);
    double create_ms = MillisSince(t0);
    auto t1 = Clock::now();
    if (s.ok()) s = rt.Start(id);
    double start_ms = MillisSince(t1);
    if (s.ok() && !rt.WaitExit(id))
      s = Status(StatusCode::kDeadlineExceeded, "no exit event for " + id);
    if (s.ok()) s = rt.Delete(id);
    double total_ms = MillisSince(t0);
    if (!s.ok()) {
      fprintf(stderr, "runtime_bench: %s: %s\n", label.c_str(), s.ToString().c_str());
      return false;
    }
    if (i == 0) continue;
    out->total.push_back(total_ms);
    out->create.push_back(create_ms);
    out->start.push_back(start_ms);
  }
  std::vector<std::string> ids;
  for (int i = 0; i < shims; ++i) {
    std::string id = label + "-mem" + std::to_string(i);
    std::string cg = cgroup + "-" + std::to_string(i);
    if (!AtomicWriteFile(bundle + "/config.json", Spec({"sleep", "1000"}, cg).dump()).ok())
      return false;
    pv1::CreateTaskResponse cr;
    Status s = rt.Create(id, bundle, &cr);
    if (s.ok()) s = rt.Start(id);
    if (!s.ok()) {
      fprintf(stderr, "runtime_bench: %s: %s\n", id.c_str(), s.ToString().c_str());
      break;
    }
    ids.push_back(id);
    Result<std::string> pid =
        ReadFile(cr.shim_socket().substr(0, cr.shim_socket().rfind('/')) + "/shim.pid");
    if (pid.ok()) {
      auto [pss, rss] = PssRssKb(static_cast<pid_t>(std::stol(*pid)));
      out->pss.push_back(pss);
      out->rss.push_back(rss);
    }
  }
  for (const std::string& id : ids) {
    (void)rt.Kill(id);
    rt.WaitExit(id);
    (void)rt.Delete(id);
  }
  return true;
}

// `<runtime> --root R run --bundle B <id>` of `true`, `runs` times. Empty output on success.
std::string BenchBare(const std::string& runtime, const std::string& state,
                      const std::string& bundle, int runs, std::vector<double>* out) {
  std::string cgroup = "/berth-bench-bare-" + std::to_string(getpid());
  (void)AtomicWriteFile(bundle + "/config.json", Spec({"true"}, cgroup).dump());
  for (int i = 0; i < runs + 1; ++i) {
    std::string id = "bare-" + std::to_string(i);
    std::string cmd =
        runtime + " --root " + state + " run --bundle " + bundle + " " + id + " </dev/null 2>&1";
    auto t0 = Clock::now();
    FILE* f = popen(cmd.c_str(), "r");
    std::string text;
    char buf[512];
    size_t n;
    while (f && (n = fread(buf, 1, sizeof(buf), f)) > 0) text.append(buf, n);
    int rc = f ? pclose(f) : -1;
    double ms = MillisSince(t0);
    if (rc != 0) {
      while (!text.empty() && text.back() == '\n') text.pop_back();
      return text.empty() ? "exit status " + std::to_string(rc) : text;
    }
    if (i > 0) out->push_back(ms);
  }
  return "";
}

template <typename T>
T Median(std::vector<T> v) {
  if (v.empty()) return T();
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int Main(int argc, char** argv) {
  if (!testing::WhyNotRoot().empty()) {
    fprintf(stderr, "runtime_bench: %s\n", testing::WhyNotRoot().c_str());
    return 1;
  }
  int runs = RunsFlag(argc, argv, 20);
  const char* env_shims = getenv("BENCH_SHIMS");
  int shims = env_shims && atoi(env_shims) > 0 ? atoi(env_shims) : 50;
  testing::TempDir dir;
  if (!MakeRootfs(dir.path())) {
    fprintf(stderr, "runtime_bench: cannot build the busybox rootfs\n");
    return 1;
  }
  std::string bundle = dir.path();
  printf(
      "runtime_bench: %d runs of create+start+wait(exit event)+delete of `true`; shim memory "
      "with %d running containers\n",
      runs, shims);

  std::map<std::string, PluginFigures> figures;
  std::vector<std::pair<std::string, std::string>> cases = {{"native", "native"},
                                                            {"oci-runc", "oci"}};
  for (auto& [label, plugin] : cases) {
    std::string state = dir.path() + "/state-" + label;
    nlohmann::json config = {{"state_dir", state}};
    if (plugin == "oci") config["runtime_path"] = "runc";
    PluginFigures f;
    if (!BenchPlugin(label, plugin, config, bundle, runs, shims, &f)) return 1;
    figures[label] = f;
    printf("  %-9s create+start+wait+delete: %s\n", label.c_str(),
           FormatSummary(Summarize(f.total)).c_str());
    printf("  %-9s create (rpc):             %s\n", label.c_str(),
           FormatSummary(Summarize(f.create)).c_str());
    printf("  %-9s start latency (rpc):      %s\n", label.c_str(),
           FormatSummary(Summarize(f.start)).c_str());
    if (!f.pss.empty()) {
      printf(
          "  %-9s shim memory per container: Pss median %ld KiB (max %ld), Rss median %ld KiB "
          "(max %ld); %zu shims\n",
          label.c_str(), Median(f.pss), *std::max_element(f.pss.begin(), f.pss.end()),
          Median(f.rss), *std::max_element(f.rss.begin(), f.rss.end()), f.pss.size());
    }
  }
  double native_ms = Summarize(figures["native"].total).median_ms;
  for (const char* runtime : {"runc", "crun"}) {
    std::string path =
        std::string("/usr/") + (runtime == std::string("runc") ? "sbin/" : "bin/") + runtime;
    if (access(path.c_str(), X_OK) != 0) {
      printf("  bare %s: not installed\n", runtime);
      continue;
    }
    std::vector<double> bare;
    std::string state = dir.path() + "/bare-" + runtime;
    std::string why = BenchBare(path, state, bundle, runs, &bare);
    if (!why.empty()) {
      printf("  bare %s run: cannot run here: %s\n", runtime, why.c_str());
      continue;
    }
    Summary s = Summarize(bare);
    printf("  bare %s run (fork+exec, create+start+wait+delete): %s; native/%s = %.2f\n", runtime,
           FormatSummary(s).c_str(), runtime, native_ms / s.median_ms);
  }
  double runc_plugin_ms = Summarize(figures["oci-runc"].total).median_ms;
  printf("  native/oci-runc plugin = %.2f\n", native_ms / runc_plugin_ms);
  return 0;
}

}  // namespace
}  // namespace berth::bench

int main(int argc, char** argv) { return berth::bench::Main(argc, argv); }
