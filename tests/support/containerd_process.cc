#include "tests/support/containerd_process.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/fs.h"

namespace berth::testing {
namespace {

std::string CmdlineOf(const std::string& pid) {
  std::ifstream in("/proc/" + pid + "/cmdline");
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::replace(s.begin(), s.end(), '\0', ' ');
  return s;
}

// Pids whose command line contains every one of `needles`.
std::vector<pid_t> FindProcesses(const std::vector<std::string>& needles) {
  std::vector<pid_t> out;
  DIR* d = opendir("/proc");
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::string cmd = CmdlineOf(e->d_name);
    bool all = !cmd.empty();
    for (const std::string& n : needles) all = all && cmd.find(n) != std::string::npos;
    if (all) out.push_back(static_cast<pid_t>(std::atol(e->d_name)));
  }
  closedir(d);
  return out;
}

}  // namespace

bool ContainerdInstalled() {
  return access("/usr/bin/containerd", X_OK) == 0 && access("/usr/bin/ctr", X_OK) == 0 &&
         access("/usr/bin/containerd-shim-runc-v2", X_OK) == 0;
}

ContainerdProcess::ContainerdProcess(std::string dir, std::string cni_conf_dir)
    : dir_(std::move(dir)), cni_conf_dir_(std::move(cni_conf_dir)), socket_(dir_ + "/ctd.sock") {}

ContainerdProcess::~ContainerdProcess() { Stop(); }

bool ContainerdProcess::Start() {
  if (!MakeDirs(dir_, 0700).ok()) return false;
  std::ostringstream cfg;
  cfg << "version = 2\n"
      << "root = \"" << dir_ << "/root\"\n"
      << "state = \"" << dir_ << "/state\"\n"
      << "[grpc]\n  address = \"" << socket_ << "\"\n"
      << "[plugins]\n  [plugins.\"io.containerd.grpc.v1.cri\"]\n"
      << "    restrict_oom_score_adj = true\n"
      << "    sandbox_image = \"docker.io/library/bench_pause:latest\"\n"
      << "    [plugins.\"io.containerd.grpc.v1.cri\".cni]\n"
      << "      bin_dir = \"/usr/lib/cni\"\n"
      << "      conf_dir = \"" << cni_conf_dir_ << "\"\n";
  if (!AtomicWriteFile(dir_ + "/config.toml", cfg.str()).ok()) return false;
  pid_ = fork();
  if (pid_ == 0) {
    int log = open((dir_ + "/containerd.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (log >= 0) {
      dup2(log, 1);
      dup2(log, 2);
    }
    setsid();
    execl("/usr/bin/containerd", "containerd", "--config", (dir_ + "/config.toml").c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  if (pid_ < 0) return false;
  for (int i = 0; i < 200; ++i) {
    struct stat st {};
    if (stat(socket_.c_str(), &st) == 0 &&
        std::system(("ctr -a " + socket_ + " version >/dev/null 2>&1").c_str()) == 0)
      return true;
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

bool ContainerdProcess::Import(const std::string& layout, const std::string& base_name) {
  std::string tar = dir_ + "/import.tar";
  std::string cmd = "tar -C '" + layout + "' -cf '" + tar + "' . && ctr -a '" + socket_ +
                    "' -n k8s.io images import --base-name '" + base_name + "' '" + tar +
                    "' >/dev/null && rm -f '" + tar + "'";
  return std::system(cmd.c_str()) == 0;
}

std::string ContainerdProcess::Log() const {
  Result<std::string> s = ReadFile(dir_ + "/containerd.log");
  return s.ok() ? *s : "";
}

std::string ContainerdProcess::Version() const {
  std::string out;
  FILE* p = popen("containerd --version 2>/dev/null", "r");
  if (p == nullptr) return out;
  char buf[256];
  while (fgets(buf, sizeof buf, p)) out += buf;
  pclose(p);
  size_t at = out.find(' ');  // "containerd <repo> <version> <rev>"
  std::istringstream words(out);
  std::string w, last;
  int n = 0;
  while (words >> w && n++ < 3) last = w;
  return at == std::string::npos ? out : last;
}

std::vector<pid_t> ContainerdProcess::ShimPids(const std::string& pod_id) const {
  return FindProcesses({"containerd-shim-runc-v2", "-id " + pod_id, socket_});
}

void ContainerdProcess::Stop() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    for (int i = 0; i < 100 && waitpid(pid_, nullptr, WNOHANG) != pid_; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  // Shims of pods that were not removed (a failed run) would keep mounts and processes.
  for (pid_t shim : FindProcesses({"containerd-shim", socket_})) kill(shim, SIGKILL);
  // Deepest first: whatever is still mounted below our directory.
  std::ifstream mi("/proc/self/mountinfo");
  std::vector<std::string> mounts;
  std::string line;
  while (std::getline(mi, line)) {
    std::istringstream f(line);
    std::string id, parent, devno, root, point;
    f >> id >> parent >> devno >> root >> point;
    if (point.rfind(dir_ + "/", 0) == 0) mounts.push_back(point);
  }
  std::sort(mounts.begin(), mounts.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  for (const std::string& m : mounts) umount2(m.c_str(), MNT_DETACH);
}

}  // namespace berth::testing
