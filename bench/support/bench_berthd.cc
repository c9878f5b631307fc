#include "bench/support/bench_berthd.h"

#include <cstdio>
#include <cstdlib>

#include <chrono>

#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>

#include "common/fs.h"
#include "images.grpc.pb.h"

namespace berth::bench {

BenchBerthd::BenchBerthd(std::string bench, const std::string& bridge, int subnet)
    : bench_(std::move(bench)), net_(dir_.path(), "berth-" + bench_, bridge, subnet) {}

bool BenchBerthd::Start() {
  std::string make = std::string(BERTH_MAKE_TEST_IMAGES) + " " + images() + " >/dev/null";
  if (std::system(make.c_str()) != 0) {
    fprintf(stderr, "%s: cannot build the test images\n", bench_.c_str());
    return false;
  }
  if (!net_.Setup() || !net_.WriteConflist({net_.BridgePlugin()}, "10-" + bench_ + ".conflist")) {
    fprintf(stderr, "%s: cannot set up the bench network\n", bench_.c_str());
    return false;
  }
  nlohmann::json cfg = {
      {"snapshotter", "overlay"},
      {"sandbox_image", testing::kTestPauseImage},
      {"plugins",
       {{"io.berth.runtime.v1/native", {{"state_dir", shim_dir()}}},
        {"cni", {{"conf_dir", net_.conf_dir()}, {"bin_dirs", {"/usr/lib/cni"}}}}}}};
  if (!AtomicWriteFile(dir() + "/berthd.json", cfg.dump(2)).ok()) {
    fprintf(stderr, "%s: cannot write berthd's config\n", bench_.c_str());
    return false;
  }
  berthd_ = std::make_unique<testing::BerthdProcess>(
      std::vector<std::string>{"--config", dir() + "/berthd.json"}, BERTH_PLUGIN_BUILD_DIR);
  if (!berthd_->Start(20000)) {
    fprintf(stderr, "%s: berthd did not start:\n%s\n", bench_.c_str(), berthd_->Stderr().c_str());
    return false;
  }
  return Import(images() + "/pause", testing::kTestPauseImage);
}

bool BenchBerthd::Import(const std::string& layout, const std::string& name) {
  auto images = berth::v1::Images::NewStub(
      grpc::CreateChannel(berthd_->endpoint(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
  berth::v1::ImportImageRequest req;
  berth::v1::ImportImageResponse resp;
  req.set_path(layout);
  req.set_name(name);
  grpc::Status s = images->Import(&ctx, req, &resp);
  if (!s.ok()) {
    fprintf(stderr, "%s: import %s into berthd: %s\n", bench_.c_str(), layout.c_str(),
            s.error_message().c_str());
  }
  return s.ok();
}

}  // namespace berth::bench
