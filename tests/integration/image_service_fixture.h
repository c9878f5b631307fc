#pragma once
// Shared fixture of the image service tests: a real berthd (with the snapshotter under test and
// a registry config), a real docker-registry on loopback, the project's test images pushed with
// the project's pusher, and CRI ImageService / berth.v1.Images clients on berthd's socket.
//
// The snapshotter comes from the test parameter ("overlay", "native"). BERTH_IMAGE_TEST_PLUGIN_DIR
// and BERTH_IMAGE_TEST_SNAPSHOTTER override the plugin directory and the snapshotter (e.g. the
// "tmpdir" fixture plugin, to run the suite before the real snapshotters exist).

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api/cri.h"
#include "common/fs.h"
#include "images.grpc.pb.h"
#include "introspection.grpc.pb.h"
#include "tests/support/berthd_process.h"
#include "tests/support/registry_pusher.h"
#include "tests/support/registry_server.h"
#include "tests/support/test_env.h"

namespace berth::testing {

namespace fs = std::filesystem;

// The test image layouts (built once per binary) and helpers to read/derive them.
class TestImages {
 public:
  static TestImages& Get() {
    static TestImages* images = new TestImages();  // test-only; intentionally leaked
    return *images;
  }
  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }
  std::string path(const std::string& name) const { return dir_.path() + "/" + name; }

  struct Layout {
    std::string manifest, config;
    int64_t manifest_size = 0, config_size = 0;
    std::vector<std::string> layers;
    std::vector<int64_t> layer_sizes;
    int64_t Size() const {
      int64_t s = manifest_size + config_size;
      for (int64_t l : layer_sizes) s += l;
      return s;
    }
  };
  static Layout Read(const std::string& dir) {
    Layout l;
    auto idx = nlohmann::json::parse(*ReadFile(dir + "/index.json"));
    l.manifest = idx["manifests"][0]["digest"];
    l.manifest_size = idx["manifests"][0]["size"];
    auto m = nlohmann::json::parse(*ReadFile(dir + "/blobs/sha256/" + l.manifest.substr(7)));
    l.config = m["config"]["digest"];
    l.config_size = m["config"]["size"];
    for (auto& x : m["layers"]) {
      l.layers.push_back(x["digest"]);
      l.layer_sizes.push_back(x["size"]);
    }
    return l;
  }

  // Copies layout `src` to `dst` with `edit` applied to its config (new config, manifest and
  // index digests), e.g. to set a User.
  static void Derive(const std::string& src, const std::string& dst,
                     const std::function<void(nlohmann::json&)>& edit);
  // A layout of one gzip layer holding `mb` MiB of random data (slow enough to interrupt).
  static void MakeBig(const std::string& dst, int mb);

 private:
  TestImages() {
    int rc = RunTool({BERTH_MAKE_TEST_IMAGES, dir_.path()}, &error_);
    ok_ = rc == 0;
  }
  TempDir dir_;
  bool ok_ = false;
  std::string error_;
};

class ImageServiceTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override;
  void TearDown() override;

  std::string snapshotter() const { return snapshotter_; }

  std::unique_ptr<RegistryServer> StartRegistry(RegistryOptions o = {});
  std::string Push(const RegistryServer& reg, const std::string& layout_dir,
                   const std::string& repo, const std::string& tag,
                   image::registry::TlsSettings tls = {}, const std::string& index_tag = "");

  // Starts berthd with `extra` merged into its config file; false (with a failure) when it
  // does not come up or the snapshotter under test is not loaded.
  bool StartBerthd(const nlohmann::json& extra = nlohmann::json::object());
  bool RestartBerthd(int sig);
  void StopBerthd();

  grpc::Status Pull(const std::string& ref, std::string* id = nullptr,
                    const runtime::v1::AuthConfig& auth = {});
  std::vector<runtime::v1::Image> List(const std::string& filter = "");
  // The image, or an Image with an empty id when absent.
  runtime::v1::Image Status(const std::string& ref, std::string* verbose_info = nullptr);
  grpc::Status Remove(const std::string& ref);
  runtime::v1::ImageFsInfoResponse FsInfo();
  grpc::Status Import(const std::string& path, const std::string& name,
                      berth::v1::ImportImageResponse* resp);

  std::string root() const { return berthd_->root(); }
  size_t BlobCount() const;
  size_t IngestCount() const;
  bool BlobExists(const std::string& digest) const {
    return fs::exists(root() + "/content/blobs/sha256/" + digest.substr(7));
  }
  // Snapshot names of the snapshotter under test (berthd must be stopped: the test loads the
  // plugin itself on berthd's root).
  std::vector<std::string> SnapshotsOffline();
  // Mounts a read-only view of committed snapshot `chain_id` (berthd stopped), calls `check`
  // with the rootfs path, and cleans up.
  void WithRootfs(const std::string& chain_id,
                  const std::function<void(const std::string&)>& check);
  // Lines of /proc/mounts mentioning this test's directories.
  std::string LeftoverMounts() const;

  TempDir dir_;
  std::string snapshotter_, plugin_dir_;
  nlohmann::json config_;
  std::unique_ptr<BerthdProcess> berthd_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<runtime::v1::ImageService::Stub> images_;
  std::unique_ptr<berth::v1::Images::Stub> berth_images_;
};

}  // namespace berth::testing
