#include "plugins/runtime/native/lib/sysctl.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

namespace berth::native {
namespace {

bool StartsWith(const std::string& s, std::string_view p) { return s.rfind(p, 0) == 0; }

bool Private(const LinuxSpec& linux, NamespaceType t) {
  const Namespace* ns = linux.FindNamespace(t);
  // Joining a namespace by path (a pod's) is private to the pod, not the host's.
  return ns != nullptr;
}

}  // namespace

Status ValidateSysctls(const std::map<std::string, std::string>& sysctl, const LinuxSpec& linux) {
  for (const auto& [raw_key, value] : sysctl) {
    std::string key = raw_key;
    std::replace(key.begin(), key.end(), '/', '.');
    const std::string where = "linux.sysctl[" + raw_key + "]";
    if (key.empty() ||
        key.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                              "0123456789_-.") != std::string::npos ||
        key.find("..") != std::string::npos || key.front() == '.' || key.back() == '.')
      return InvalidArgument(where + ": malformed sysctl name");
    if (value.find_first_of(std::string_view("\n\r\0", 3)) != std::string::npos)
      return InvalidArgument(where + ": value contains a newline or NUL");
    bool ok = false;
    if (key == "kernel.sem" || StartsWith(key, "kernel.shm") || StartsWith(key, "kernel.msg") ||
        StartsWith(key, "fs.mqueue.")) {
      if (!Private(linux, NamespaceType::kIpc))
        return InvalidArgument(where + ": needs a private IPC namespace");
      ok = true;
    } else if (StartsWith(key, "net.")) {
      if (!Private(linux, NamespaceType::kNetwork))
        return InvalidArgument(where + ": needs a private network namespace");
      ok = true;
    } else if (key == "kernel.hostname" || key == "kernel.domainname") {
      if (!Private(linux, NamespaceType::kUts))
        return InvalidArgument(where + ": needs a private UTS namespace");
      ok = true;
    }
    if (!ok) return InvalidArgument(where + ": not a namespaced sysctl");
  }
  return OkStatus();
}

Status ApplySysctls(const std::map<std::string, std::string>& sysctl) {
  for (const auto& [raw_key, value] : sysctl) {
    std::string path = "/proc/sys/" + raw_key;
    std::replace(path.begin() + 10, path.end(), '.', '/');
    int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return ErrnoStatus(errno, "sysctl " + raw_key);
    ssize_t n = write(fd, value.data(), value.size());
    int err = errno;
    close(fd);
    if (n != static_cast<ssize_t>(value.size())) return ErrnoStatus(err, "sysctl " + raw_key);
  }
  return OkStatus();
}

}  // namespace berth::native
