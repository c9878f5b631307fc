#include "cri/pod/pod_files.h"

#include <errno.h>
#include <sys/mount.h>
#include <unistd.h>

#include "common/fs.h"

namespace berth {

Status WriteHostnameFile(const std::string& path, const std::string& hostname) {
  return AtomicWriteFile(path, hostname + "\n", 0644).Wrap("hostname file");
}

Status WriteHostsFile(const std::string& path, const std::string& hostname, const std::string& ip,
                      bool host_network) {
  if (host_network) {
    auto host = ReadFile("/etc/hosts");
    if (host.ok()) return AtomicWriteFile(path, *host, 0644).Wrap("hosts file");
  }
  std::string text =
      "127.0.0.1\tlocalhost\n"
      "::1\tlocalhost ip6-localhost ip6-loopback\n"
      "fe00::0\tip6-localnet\n"
      "fe00::0\tip6-mcastprefix\n"
      "fe00::1\tip6-allnodes\n"
      "fe00::2\tip6-allrouters\n";
  if (!ip.empty() && !hostname.empty()) text += ip + "\t" + hostname + "\n";
  return AtomicWriteFile(path, text, 0644).Wrap("hosts file");
}

Status WriteResolvConf(const std::string& path, const runtime::v1::DNSConfig& dns) {
  if (dns.servers().empty() && dns.searches().empty() && dns.options().empty()) {
    auto host = ReadFile("/etc/resolv.conf");
    // A host without resolv.conf gives its pods an empty one (no DNS), not an error.
    return AtomicWriteFile(path, host.ok() ? *host : std::string(), 0644).Wrap("resolv.conf");
  }
  std::string text;
  auto line = [&](const char* key, const auto& values, const char* sep) {
    if (values.empty()) return;
    text += key;
    for (const auto& v : values) text += sep + v;
    text += "\n";
  };
  line("search", dns.searches(), " ");
  for (const auto& s : dns.servers()) text += "nameserver " + s + "\n";
  line("options", dns.options(), " ");
  return AtomicWriteFile(path, text, 0644).Wrap("resolv.conf");
}

Status MountPodShm(const std::string& path) {
  BERTH_RETURN_IF_ERROR(MakeDirs(path, 0755));
  std::string opts = "mode=1777,size=" + std::to_string(kPodShmBytes);
  if (::mount("shm", path.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts.c_str()) != 0) {
    return ErrnoStatus(errno, "mount the pod's /dev/shm tmpfs on " + path);
  }
  return OkStatus();
}

Status UnmountPodShm(const std::string& path) {
  if (path.empty()) return OkStatus();
  if (::umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
    return ErrnoStatus(errno, "unmount " + path);
  }
  if (::rmdir(path.c_str()) != 0 && errno != ENOENT) return ErrnoStatus(errno, "remove " + path);
  return OkStatus();
}

}  // namespace berth
