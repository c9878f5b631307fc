#include "tests/support/registry_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/fs.h"
#include "cri/image/registry/http.h"

extern char** environ;

namespace berth::testing {

int FreeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

int RunTool(const std::vector<std::string>& argv, std::string* output) {
  char tmpl[] = "/tmp/berth-tool-XXXXXX";
  int out = ::mkstemp(tmpl);
  if (out < 0) return -1;
  ::unlink(tmpl);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out, 1);
  posix_spawn_file_actions_adddup2(&fa, out, 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    ::close(out);
    return -1;
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (output) {
    output->clear();
    char buf[4096];
    ssize_t n;
    ::lseek(out, 0, SEEK_SET);
    while ((n = ::read(out, buf, sizeof buf)) > 0) output->append(buf, n);
  }
  ::close(out);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool RegistryToolsAvailable(std::string* missing) {
  for (const char* tool : {"/usr/bin/docker-registry", "/usr/bin/htpasswd", "/usr/bin/openssl"}) {
    if (::access(tool, X_OK) != 0) {
      if (missing)
        *missing = std::string(tool) + " (apt-get install docker-registry apache2-utils openssl)";
      return false;
    }
  }
  return true;
}

RegistryServer::~RegistryServer() { Stop(); }

std::string RegistryServer::BlobDataPath(const std::string& hex) const {
  return options_.storage_dir + "/docker/registry/v2/blobs/sha256/" + hex.substr(0, 2) + "/" + hex +
         "/data";
}

std::string RegistryServer::Log() const {
  auto s = ReadFile(log_path_);
  if (!s.ok()) return "";
  return s->size() > 4000 ? s->substr(s->size() - 4000) : *s;
}

Status RegistryServer::Start() {
  BERTH_RETURN_IF_ERROR(MakeDirs(options_.storage_dir, 0700));
  port_ = options_.port ? options_.port : FreeLoopbackPort();
  config_path_ = options_.storage_dir + ".config-" + std::to_string(port_) + ".yml";
  log_path_ = options_.storage_dir + ".log-" + std::to_string(port_);
  std::ostringstream y;
  y << "version: 0.1\n"
    << "log:\n  level: info\n  accesslog:\n    disabled: false\n"
    << "storage:\n  filesystem:\n    rootdirectory: " << options_.storage_dir << "\n"
    << "  delete:\n    enabled: true\n"
    << "http:\n  addr: 127.0.0.1:" << port_ << "\n";
  if (!options_.tls_cert.empty()) {
    y << "  tls:\n    certificate: " << options_.tls_cert << "\n    key: " << options_.tls_key
      << "\n";
  }
  if (!options_.htpasswd_file.empty()) {
    y << "auth:\n  htpasswd:\n    realm: berth-test\n    path: " << options_.htpasswd_file << "\n";
  }
  BERTH_RETURN_IF_ERROR(AtomicWriteFile(config_path_, y.str()));

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  const char* argv[] = {"/usr/bin/docker-registry", "serve", config_path_.c_str(), nullptr};
  int rc = posix_spawn(&pid_, argv[0], &fa, nullptr, const_cast<char**>(argv), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    pid_ = -1;
    return ErrnoStatus(rc, "spawn docker-registry");
  }

  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    int status;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return Unavailable("docker-registry exited at startup: " + Log());
    }
    image::registry::HttpRequest req;
    req.url = url() + "/v2/";
    auto r = image::registry::PerformHttp(req, {false, ""}, {1000, 5, 1});
    if (r.transport_ok() && (r.status == 200 || r.status == 401)) return OkStatus();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  Stop();
  return Unavailable("docker-registry did not answer /v2/ within 15 s: " + Log());
}

void RegistryServer::Stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 100; ++i) {
    int status;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

}  // namespace berth::testing
