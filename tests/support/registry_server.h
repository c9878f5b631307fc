#pragma once
// Runs Debian's docker-registry (github.com/docker/distribution 2.8) on a free loopback port for
// tests: filesystem storage under a directory the caller owns, optional htpasswd basic auth,
// optional TLS. Start() waits until /v2/ answers; the destructor stops the process (SIGTERM,
// then SIGKILL). Restarting with other options on the same storage is how tests push
// anonymously and then pull through auth.
// Not thread-safe; one object per registry process.

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/status.h"

namespace berth::testing {

struct RegistryOptions {
  std::string storage_dir;        // required; created if missing
  std::string htpasswd_file;      // enables basic auth
  std::string tls_cert, tls_key;  // enables TLS (PEM files)
  int port = 0;                   // 0: pick a free one
};

class RegistryServer {
 public:
  explicit RegistryServer(RegistryOptions options) : options_(std::move(options)) {}
  ~RegistryServer();
  RegistryServer(const RegistryServer&) = delete;
  RegistryServer& operator=(const RegistryServer&) = delete;

  // UNAVAILABLE with the registry's log tail when it does not come up within 15 s.
  Status Start();
  void Stop();

  int port() const { return port_; }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string url() const { return (options_.tls_cert.empty() ? "http://" : "https://") + host(); }
  // The file the registry serves for a blob (to corrupt it in tests).
  std::string BlobDataPath(const std::string& hex) const;
  std::string Log() const;

 private:
  RegistryOptions options_;
  int port_ = 0;
  pid_t pid_ = -1;
  std::string config_path_, log_path_;
};

// A free TCP port on 127.0.0.1 (bound and released; good enough for tests).
int FreeLoopbackPort();

// Runs argv to completion; returns the exit code (-1 when it could not run) and fills `output`
// with stdout+stderr.
int RunTool(const std::vector<std::string>& argv, std::string* output = nullptr);

// true when docker-registry, htpasswd and openssl are installed.
bool RegistryToolsAvailable(std::string* missing);

}  // namespace berth::testing
