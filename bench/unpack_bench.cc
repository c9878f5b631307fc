// Unpack time of berth's LayerUnpacker (cri/image/unpack) against GNU `tar -xzf` of the very
// same gzip layers, each into a fresh directory; median of N runs. Layer sets: ~5 MB random
// (1 layer), ~50 MB random (5 layers), and 4000 small text files (per-entry cost).
//   unpack_bench [--runs N]      (default 5; as root ownership is preserved by both)

#include <sys/wait.h>
#include <unistd.h>

#include <spawn.h>
#include <cstdio>
#include <filesystem>

#include "bench/support/bench_util.h"
#include "bench/support/random_layout.h"
#include "common/log.h"
#include "cri/image/unpack/layer_unpacker.h"
#include "tests/support/test_env.h"

extern char** environ;

namespace berth::bench {
namespace {

namespace fs = std::filesystem;

int RunTar(const std::string& blob, const std::string& dir) {
  std::vector<std::string> args = {"tar", "-xzf", blob, "-C", dir};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawnp(&pid, "tar", nullptr, nullptr, argv.data(), environ) != 0) return -1;
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

struct Case {
  const char* name;
  LayoutSpec spec;
};

int Main(int argc, char** argv) {
  const int runs = RunsFlag(argc, argv, 5);
  const bool root = ::geteuid() == 0;
  testing::TempDir work;
  const std::vector<Case> cases = {
      {"~5 MB random, 1 layer", {11, {{5'000'000, 4, false}}}},
      {"~50 MB random, 5 layers", {12, std::vector<LayerSpec>(5, {10'000'000, 8, false})}},
      {"4000 small text files", {13, {{16'000'000, 4000, true}}}},
  };
  UnpackOptions options;
  options.whiteouts = WhiteoutMode::kDelete;
  options.devices = root ? DevicePolicy::kCreate : DevicePolicy::kSkip;
  options.preserve_ownership = root;
  Logger log(LogLevel::kError);

  std::printf("unpack_bench: berth LayerUnpacker vs tar -xzf, same gzip layers, %d runs each%s\n",
              runs, root ? "" : " (not root: ownership not preserved)");
  for (size_t c = 0; c < cases.size(); ++c) {
    auto layout = WriteRandomLayout(work / ("layout" + std::to_string(c)), cases[c].spec);
    if (!layout.ok()) {
      std::fprintf(stderr, "unpack_bench: %s\n", layout.status().ToString().c_str());
      return 1;
    }
    uint64_t tar_bytes = 0;
    for (const auto& l : layout->layers) tar_bytes += l.tar_size;
    std::vector<double> berth_ms, tar_ms;
    for (int r = 0; r < runs; ++r) {
      for (int tool = 0; tool < 2; ++tool) {
        const std::string target = work / ("out-" + std::to_string(tool));
        fs::remove_all(target);
        fs::create_directories(target);
        auto start = std::chrono::steady_clock::now();
        for (const auto& layer : layout->layers) {
          if (tool == 0) {
            auto stats = UnpackLayerFile(layer.path, target, options, log);
            if (!stats.ok()) {
              std::fprintf(stderr, "unpack_bench: berth: %s\n", stats.status().ToString().c_str());
              return 1;
            }
          } else if (RunTar(layer.path, target) != 0) {
            std::fprintf(stderr, "unpack_bench: tar -xzf %s failed\n", layer.path.c_str());
            return 1;
          }
        }
        (tool == 0 ? berth_ms : tar_ms).push_back(MillisSince(start));
        fs::remove_all(target);
      }
    }
    Summary b = Summarize(berth_ms), t = Summarize(tar_ms);
    std::printf("  %-26s %6.1f MB tar\n", cases[c].name, static_cast<double>(tar_bytes) / 1e6);
    std::printf("    berth   %s  %.0f MB/s\n", FormatSummary(b).c_str(),
                Throughput(tar_bytes, b.median_ms));
    std::printf("    tar     %s  %.0f MB/s\n", FormatSummary(t).c_str(),
                Throughput(tar_bytes, t.median_ms));
    std::printf("    berth/tar median ratio %.2f\n",
                t.median_ms > 0 ? b.median_ms / t.median_ms : 0);
  }
  return 0;
}

}  // namespace
}  // namespace berth::bench

int main(int argc, char** argv) { return berth::bench::Main(argc, argv); }
