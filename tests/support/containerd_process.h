#pragma once
// containerd as a reference CRI runtime (cri_bench's ratios, containerd_interop_test): Debian's
// containerd (1.6) started on a temp root, state and socket under `dir`, its CRI plugin using the
// given CNI conflist directory and /usr/lib/cni, runc through containerd-shim-runc-v2, and a
// sandbox image imported from the test images (no registry: nothing leaves the machine).
// restrict_oom_score_adj keeps it working where a negative oom_score_adj is refused (no
// CAP_SYS_RESOURCE).
//
// Not thread-safe; one per test or bench run. Stop() (also the destructor) terminates containerd,
// kills shims it left, and unmounts whatever is still mounted under `dir`.

#include <sys/types.h>

#include <string>
#include <vector>

namespace berth::testing {

bool ContainerdInstalled();

class ContainerdProcess {
 public:
  ContainerdProcess(std::string dir, std::string cni_conf_dir);
  ~ContainerdProcess();

  bool Start();
  // `ctr images import` of the OCI layout, named <base_name>:latest, into the k8s.io namespace.
  bool Import(const std::string& layout, const std::string& base_name);
  void Stop();

  std::string endpoint() const { return "unix://" + socket_; }
  pid_t pid() const { return pid_; }
  std::string Log() const;
  std::string Version() const;
  // The containerd-shim-runc-v2 process(es) serving pod `pod_id`.
  std::vector<pid_t> ShimPids(const std::string& pod_id) const;

 private:
  std::string dir_, cni_conf_dir_, socket_;
  pid_t pid_ = -1;
};

}  // namespace berth::testing
