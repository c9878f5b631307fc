#include "bench/support/bench_berthd.h"

#include <cstdio>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "common/fs.h"

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
  return true;
}

}  // namespace berth::bench
