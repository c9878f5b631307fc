#include "plugins/runtime/oci/oci_runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>

#include "berth/sdk/export.h"
#include "common/fs.h"

namespace berth::oci_plugin {
namespace {

// `name` if it holds a slash, else the first executable of that name in PATH.
std::string FindExecutable(const std::string& name) {
  if (name.find('/') != std::string::npos) return access(name.c_str(), X_OK) == 0 ? name : "";
  const char* env = getenv("PATH");
  std::stringstream path(
      env && *env ? env : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  std::string dir;
  while (std::getline(path, dir, ':')) {
    if (dir.empty()) continue;
    std::string candidate = dir + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

}  // namespace

Result<bool> OciRuntime::ConfigKey(const std::string& key, const std::string& value) {
  if (key == "runtime_path") {
    if (value.empty()) return InvalidArgument("runtime_path must not be empty");
    runtime_path_ = value;
    return true;
  }
  if (key == "runtime_root") {
    if (value.empty() || value[0] != '/') return InvalidArgument("runtime_root must be absolute");
    runtime_root_ = value;
    return true;
  }
  return false;
}

Status OciRuntime::Configure() {
  std::string found = FindExecutable(runtime_path_);
  if (found.empty()) {
    return FailedPrecondition("OCI runtime \"" + runtime_path_ +
                              "\" not found (set \"runtime_path\")");
  }
  runtime_path_ = found;
  if (runtime_root_.empty()) runtime_root_ = state_dir() + "/root";
  return MakeDirs(runtime_root_, 0700);
}

std::vector<std::string> OciRuntime::ShimArgs() const {
  return {"--runtime", "oci", "--runtime-path", runtime_path_, "--runtime-root", runtime_root_};
}

// The shim died: `<runtime> delete --force <id>` kills what is left and removes the runtime's
// state (its cgroup too); ShimRuntime then removes the cgroup and unmounts the rootfs.
Status OciRuntime::CleanupDeadContainer(const Task& task) {
  pid_t pid = fork();
  if (pid < 0) return ErrnoStatus(errno, "fork");
  if (pid == 0) {
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    std::string root = "--root=" + runtime_root_;
    execl(runtime_path_.c_str(), runtime_path_.c_str(), root.c_str(), "delete", "--force",
          task.id.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int ws = 0;
  while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
  }
  // A runtime that never knew the container (or already forgot it) fails: fine.
  return OkStatus();
}

}  // namespace berth::oci_plugin

BERTH_EXPORT_PLUGIN(berth::oci_plugin::OciRuntime, "oci", "0.1.0")
