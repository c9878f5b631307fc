#pragma once
// A small HTTP/1.1 proxy on 127.0.0.1:<free port> in front of a real registry, for fault and
// auth tests. One request per connection (it forces "Connection: close" upstream). It can:
//   - fail the first N blob GETs with 500,
//   - cut the first M blob GET responses off after K body bytes (a truncated download),
//   - act as a Bearer token server: demand "Authorization: Bearer <token>" on /v2/ requests,
//     answering 401 + WWW-Authenticate pointing at its own /token endpoint, which hands out
//     the token (checking Basic credentials when configured); the Authorization header is
//     stripped before forwarding, so the registry behind stays anonymous,
//   - redirect blob GETs to another origin (e.g. a second proxy on "localhost"),
//   - hold GETs of one blob until Release() (to observe what happens while it downloads).
// It records each request line and whether it carried Range/Authorization headers.
// Thread-safe: a thread per connection; counters and the log are mutex-guarded.

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace berth::testing {

struct ProxyRequest {
  std::string method, path;
  std::string range;          // Range header value, "" if none
  std::string authorization;  // Authorization header value, "" if none
};

struct ProxyOptions {
  std::string upstream_host = "127.0.0.1";
  int upstream_port = 0;
  int fail_blob_gets = 0;                              // answer this many blob GETs with 500
  int truncate_blob_gets = 0;                          // cut this many blob GET responses short…
  size_t truncate_after = 1000;                        // …after this many body bytes
  std::string bearer_token;                            // non-empty: require it (and serve /token)
  std::string token_basic_user, token_basic_password;  // required at /token when set
  std::string redirect_blobs_to;                       // "http://localhost:PORT": 307 for blob GETs
  std::string hold_blob;  // "sha256:…": its GETs wait for Release() before forwarding
};

class RegistryProxy {
 public:
  explicit RegistryProxy(ProxyOptions options);
  ~RegistryProxy();
  RegistryProxy(const RegistryProxy&) = delete;
  RegistryProxy& operator=(const RegistryProxy&) = delete;

  int port() const { return port_; }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  std::vector<ProxyRequest> requests() const;
  int token_requests() const { return token_requests_; }
  // Lets held blob GETs (ProxyOptions::hold_blob) go on; later ones are not held.
  void Release();
  // True once a GET of the held blob has arrived (and is waiting).
  bool holding() const;

 private:
  void Serve();
  void Handle(int client);

  ProxyOptions options_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  mutable std::mutex mu_;
  std::vector<std::thread> workers_;
  std::vector<ProxyRequest> requests_;
  std::condition_variable released_cv_;
  bool released_ = false;
  bool holding_ = false;
  int fail_left_, truncate_left_;
  std::atomic<int> token_requests_{0};
};

}  // namespace berth::testing
