#pragma once
// The fixture of snapshotter_conformance_test.cc: one snapshotter plugin library (the test
// parameter), loaded alone by a real PluginHost from a private directory of symlinks into the
// plugin build dir; typed wrappers for the snapshotter rpcs; performing the returned mounts as
// berthd would (all undone in TearDown); and applying a layer with the real unpacker.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "berth/plugin/v1/snapshotter.pb.h"
#include "common/log.h"
#include "cri/image/unpack/layer_unpacker.h"
#include "cri/plugin_host/plugin_host.h"
#include "tests/support/test_env.h"
#include "tests/unit/unpack_tar_builder.h"
#include "tests/unit/unpack_test_util.h"

namespace berth::snapshotter_testing {

namespace fs = std::filesystem;
namespace pv1 = ::berth::plugin::v1;
using ::berth::testing::Slurp;
using ::berth::testing::Spit;
using ::berth::testing::TarBuilder;
using ::berth::testing::TempDir;

constexpr const char* kType = "io.berth.snapshotter.v1";

struct Flavor {
  std::string name;  // plugin name
  std::string file;  // library in the plugin build dir
  WhiteoutMode whiteouts;
};

// gtest prints the parameter by its plugin name.
inline void PrintTo(const Flavor& f, std::ostream* os) { *os << f.name; }

// "type source option..." of a mount, for messages.
inline std::string Str(const pv1::Mount& m) {
  std::string s = m.type() + " " + m.source();
  for (const auto& o : m.options()) s += " " + o;
  return s;
}

class SnapshotterConformance : public ::testing::TestWithParam<Flavor> {
 protected:
  void SetUp() override {
    BERTH_REQUIRE_ROOT();
    // Load only the plugin under test (plugins.d holds others, e.g. the runtimes).
    fs::create_directories(tmp_ / "plugins");
    fs::create_symlink(std::string(BERTH_PLUGIN_BUILD_DIR) + "/" + GetParam().file,
                       tmp_ / ("plugins/" + GetParam().file));
    root_ = tmp_ / "root";
    Start();
  }

  void TearDown() override {
    for (auto it = mounted_.rbegin(); it != mounted_.rend(); ++it) {
      EXPECT_EQ(umount2(it->c_str(), MNT_DETACH), 0) << *it << ": " << strerror(errno);
    }
    mounted_.clear();
    host_.reset();
  }

  // (Re)creates the host and the plugin instance. `config` is the plugin's section.
  void Start(nlohmann::json config = nlohmann::json::object()) {
    sn_ = nullptr;
    host_.reset();
    nlohmann::json cfg = {{std::string(kType) + "/" + GetParam().name, config}};
    host_ = std::make_unique<PluginHost>(Logger(LogLevel::kError), cfg, root_, tmp_ / "state");
    host_->LoadAll({tmp_ / "plugins"});
    sn_ = host_->Find(kType, GetParam().name);
    ASSERT_NE(sn_, nullptr) << (host_->List().empty() ? "no plugin" : host_->List()[0].error);
  }
  std::string PluginRoot() const { return root_ + "/plugins/" + kType + "/" + GetParam().name; }

  Result<std::vector<pv1::Mount>> Prepare(const std::string& key, const std::string& parent = "",
                                          std::map<std::string, std::string> labels = {}) {
    pv1::PrepareSnapshotRequest req;
    req.set_key(key);
    req.set_parent(parent);
    req.mutable_labels()->insert(labels.begin(), labels.end());
    pv1::PrepareSnapshotResponse resp;
    BERTH_RETURN_IF_ERROR(sn_->Invoke("Prepare", req, &resp));
    return std::vector<pv1::Mount>(resp.mounts().begin(), resp.mounts().end());
  }
  Result<std::vector<pv1::Mount>> View(const std::string& key, const std::string& parent) {
    pv1::ViewSnapshotRequest req;
    req.set_key(key);
    req.set_parent(parent);
    pv1::ViewSnapshotResponse resp;
    BERTH_RETURN_IF_ERROR(sn_->Invoke("View", req, &resp));
    return std::vector<pv1::Mount>(resp.mounts().begin(), resp.mounts().end());
  }
  Result<std::vector<pv1::Mount>> Mounts(const std::string& key) {
    pv1::SnapshotMountsRequest req;
    req.set_key(key);
    pv1::SnapshotMountsResponse resp;
    BERTH_RETURN_IF_ERROR(sn_->Invoke("Mounts", req, &resp));
    return std::vector<pv1::Mount>(resp.mounts().begin(), resp.mounts().end());
  }
  Status Commit(const std::string& name, const std::string& key,
                std::map<std::string, std::string> labels = {}) {
    pv1::CommitSnapshotRequest req;
    req.set_name(name);
    req.set_key(key);
    req.mutable_labels()->insert(labels.begin(), labels.end());
    return sn_->Invoke("Commit", req, nullptr);
  }
  Status Remove(const std::string& key) {
    pv1::RemoveSnapshotRequest req;
    req.set_key(key);
    return sn_->Invoke("Remove", req, nullptr);
  }
  Result<pv1::SnapshotUsageResponse> Usage(const std::string& key) {
    pv1::SnapshotUsageRequest req;
    req.set_key(key);
    pv1::SnapshotUsageResponse resp;
    BERTH_RETURN_IF_ERROR(sn_->Invoke("Usage", req, &resp));
    return resp;
  }
  std::map<std::string, pv1::SnapshotInfo> Walk(std::map<std::string, std::string> filter = {}) {
    pv1::WalkSnapshotsRequest req;
    req.mutable_label_filter()->insert(filter.begin(), filter.end());
    pv1::WalkSnapshotsResponse resp;
    Status s = sn_->Invoke("Walk", req, &resp);
    EXPECT_TRUE(s.ok()) << s.ToString();
    std::map<std::string, pv1::SnapshotInfo> out;
    for (const auto& i : resp.snapshots()) out[i.name()] = i;
    return out;
  }

  // Performs `mounts` on a new directory, as berthd would; returns the mount point.
  std::string Mount(const std::vector<pv1::Mount>& mounts) {
    std::string target = tmp_ / ("mnt" + std::to_string(next_mnt_++));
    fs::create_directories(target);
    for (const pv1::Mount& m : mounts) {
      bool ro = std::count(m.options().begin(), m.options().end(), "ro") > 0;
      if (m.type() == "bind") {
        bool rec = std::count(m.options().begin(), m.options().end(), "rbind") > 0;
        EXPECT_EQ(mount(m.source().c_str(), target.c_str(), nullptr, MS_BIND | (rec ? MS_REC : 0),
                        nullptr),
                  0)
            << Str(m) << ": " << strerror(errno);
        mounted_.push_back(target);
        if (ro) {
          EXPECT_EQ(
              mount(nullptr, target.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr), 0)
              << strerror(errno);
        }
      } else {
        std::string data;
        for (const auto& o : m.options()) {
          if (o == "ro" || o == "rw") continue;
          data += (data.empty() ? "" : ",") + o;
        }
        EXPECT_EQ(mount(m.source().c_str(), target.c_str(), m.type().c_str(), ro ? MS_RDONLY : 0,
                        data.c_str()),
                  0)
            << Str(m) << ": " << strerror(errno);
        mounted_.push_back(target);
      }
    }
    return target;
  }
  void Unmount(const std::string& target) {
    ASSERT_EQ(umount2(target.c_str(), 0), 0) << strerror(errno);
    mounted_.erase(std::remove(mounted_.begin(), mounted_.end(), target), mounted_.end());
  }

  // Where a layer is unpacked into an active snapshot: the bind source, or the overlay
  // upperdir (what the image service does).
  static std::string UnpackTarget(const std::vector<pv1::Mount>& mounts) {
    if (mounts.size() != 1) return "";
    if (mounts[0].type() == "bind") return mounts[0].source();
    for (const auto& o : mounts[0].options()) {
      if (o.rfind("upperdir=", 0) == 0) return o.substr(9);
    }
    return "";
  }

  // Prepares `key` on `parent`, unpacks `tar` into it with the real unpacker and commits it
  // as `name`.
  void ApplyLayer(const std::string& name, const std::string& parent, const TarBuilder& tar) {
    auto mounts = Prepare(name + "-active", parent);
    ASSERT_TRUE(mounts.ok()) << mounts.status().ToString();
    std::string target = UnpackTarget(*mounts);
    ASSERT_FALSE(target.empty());
    std::string blob = tmp_ / (name + ".tar");
    tar.WriteTo(blob);
    UnpackOptions o;
    o.whiteouts = GetParam().whiteouts;
    o.devices = DevicePolicy::kCreate;
    auto r = UnpackLayerFile(blob, target, o, Logger(LogLevel::kError));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_TRUE(Commit(name, name + "-active").ok());
  }

  TempDir tmp_;
  std::string root_;
  std::unique_ptr<PluginHost> host_;
  PluginHandle* sn_ = nullptr;
  std::vector<std::string> mounted_;
  int next_mnt_ = 0;
};

#define ASSERT_OK(expr)                                     \
  do {                                                      \
    ::berth::Status s_ = (expr);                            \
    ASSERT_TRUE(s_.ok()) << #expr << ": " << s_.ToString(); \
  } while (0)
#define ASSERT_OK_R(expr)                                            \
  ({                                                                 \
    auto r_ = (expr);                                                \
    ASSERT_TRUE(r_.ok()) << #expr << ": " << r_.status().ToString(); \
    std::move(*r_);                                                  \
  })

}  // namespace berth::snapshotter_testing
