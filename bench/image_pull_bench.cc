// Pull time through a real berthd: a docker-registry on loopback serves a ~5 MB image (one
// layer) and a ~50 MB image (five layers) of seeded random data; each run is a CRI PullImage
// of an image berthd does not have (it is removed, untimed, after every run).
//   image_pull_bench [--runs N]      (default 5; needs root and docker-registry)

#include <unistd.h>

#include <cstdio>
#include <memory>

#include <grpcpp/create_channel.h>

#include "api/cri.h"
#include "bench/support/bench_util.h"
#include "bench/support/random_layout.h"
#include "tests/support/berthd_process.h"
#include "tests/support/registry_pusher.h"
#include "tests/support/registry_server.h"

namespace berth::bench {
namespace {

struct Case {
  const char* name;
  const char* repo;
  LayoutSpec spec;
};

int Main(int argc, char** argv) {
  const int runs = RunsFlag(argc, argv, 5);
  if (::geteuid() != 0) {
    std::printf("image_pull_bench: skipped (berthd needs root)\n");
    return 0;
  }
  std::string missing;
  if (!testing::RegistryToolsAvailable(&missing)) {
    std::printf("image_pull_bench: skipped (missing %s)\n", missing.c_str());
    return 0;
  }
  testing::TempDir work;
  const std::vector<Case> cases = {
      {"~5 MB, 1 layer", "bench/small", {11, {{5'000'000, 4, false}}}},
      {"~50 MB, 5 layers", "bench/large", {12, std::vector<LayerSpec>(5, {10'000'000, 8, false})}},
  };

  testing::RegistryServer registry({work / "registry", "", "", "", 0});
  if (Status s = registry.Start(); !s.ok()) {
    std::fprintf(stderr, "image_pull_bench: registry: %s\n", s.ToString().c_str());
    return 1;
  }
  std::vector<Layout> layouts;
  for (const Case& c : cases) {
    auto layout = WriteRandomLayout(work / c.repo, c.spec);
    if (!layout.ok()) {
      std::fprintf(stderr, "image_pull_bench: %s\n", layout.status().ToString().c_str());
      return 1;
    }
    auto pushed = testing::PushOciLayout(layout->dir, {registry.url(), c.repo, "1", "", "", {}});
    if (!pushed.ok()) {
      std::fprintf(stderr, "image_pull_bench: push: %s\n", pushed.status().ToString().c_str());
      return 1;
    }
    layouts.push_back(std::move(*layout));
  }

  // Info, not debug: the bench times pulls, not logging ("serving CRI" is what Start() waits for).
  testing::BerthdProcess daemon({"--log-level", "info"}, BERTH_PLUGIN_BUILD_DIR);
  if (!daemon.Start()) {
    std::fprintf(stderr, "image_pull_bench: berthd did not start:\n%s\n", daemon.Stderr().c_str());
    return 1;
  }
  auto channel =
      grpc::CreateChannel("unix://" + daemon.socket(), grpc::InsecureChannelCredentials());
  auto images = ::runtime::v1::ImageService::NewStub(channel);

  std::printf("image_pull_bench: CRI PullImage from docker-registry on loopback, %d runs each\n",
              runs);
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string ref = registry.host() + "/" + cases[i].repo + ":1";
    std::vector<double> samples;
    for (int r = 0; r < runs; ++r) {
      ::runtime::v1::PullImageRequest pull;
      pull.mutable_image()->set_image(ref);
      ::runtime::v1::PullImageResponse pulled;
      grpc::ClientContext pull_ctx;
      auto start = std::chrono::steady_clock::now();
      grpc::Status s = images->PullImage(&pull_ctx, pull, &pulled);
      double ms = MillisSince(start);
      if (!s.ok()) {
        std::fprintf(stderr, "image_pull_bench: pull %s: %s\n", ref.c_str(),
                     s.error_message().c_str());
        return 1;
      }
      samples.push_back(ms);
      ::runtime::v1::RemoveImageRequest remove;
      remove.mutable_image()->set_image(ref);
      ::runtime::v1::RemoveImageResponse removed;
      grpc::ClientContext remove_ctx;
      if (grpc::Status rs = images->RemoveImage(&remove_ctx, remove, &removed); !rs.ok()) {
        std::fprintf(stderr, "image_pull_bench: remove %s: %s\n", ref.c_str(),
                     rs.error_message().c_str());
        return 1;
      }
    }
    Summary sum = Summarize(samples);
    std::printf("  pull %-18s %6.1f MB blobs  %s  %.0f MB/s\n", cases[i].name,
                static_cast<double>(layouts[i].TotalBlobBytes()) / 1e6, FormatSummary(sum).c_str(),
                Throughput(layouts[i].TotalBlobBytes(), sum.median_ms));
  }
  return 0;
}

}  // namespace
}  // namespace berth::bench

int main(int argc, char** argv) { return berth::bench::Main(argc, argv); }
