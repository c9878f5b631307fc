#pragma once
// The berthd a CRI bench runs against: the test images built offline (<dir>/images), a
// bench-owned CNI bridge network (tests/support/TestPodNetwork: no masquerade, forwarding off
// the bridge dropped, everything undone by the destructor), and a real berthd of this build
// tree with the overlay snapshotter, the native runtime (shim sockets under a short temp path)
// and the `cni` plugin on that network; the test pause image imported as its sandbox image
// (testing::kTestPauseImage), since pods sharing a PID namespace run it.
//
// Not thread-safe; one per bench. Root. The destructor stops berthd, then the network goes.

#include <memory>
#include <string>

#include "tests/support/berthd_process.h"
#include "tests/support/test_env.h"
#include "tests/support/test_pod_network.h"

namespace berth::bench {

class BenchBerthd {
 public:
  // `bench` names the bench in messages; `bridge` (≤ 6 characters) and `subnet` (the second
  // octet of 10.x.<n>.0/24) keep benches' networks apart.
  BenchBerthd(std::string bench, const std::string& bridge, int subnet);

  // Builds the images, sets up the network, starts berthd. False after a message on stderr.
  bool Start();
  // Imports the OCI layout `layout` into berthd as `name` (berth.v1.Images/Import). False after
  // a message on stderr.
  bool Import(const std::string& layout, const std::string& name);

  std::string images() const { return dir_.path() + "/images"; }  // OCI layouts
  const std::string& dir() const { return dir_.path(); }          // scratch space
  const std::string& shim_dir() const { return shim_dir_.path(); }
  testing::TestPodNetwork& net() { return net_; }
  testing::BerthdProcess& berthd() { return *berthd_; }

 private:
  std::string bench_;
  testing::TempDir dir_, shim_dir_;  // shim sockets need a short path (107-byte sun_path)
  testing::TestPodNetwork net_;
  std::unique_ptr<testing::BerthdProcess> berthd_;
};

}  // namespace berth::bench
