#include "tests/support/registry_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "cri/image/registry/auth.h"

namespace berth::testing {
namespace {

bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

std::string HeaderValue(const std::string& head, const std::string& name) {
  std::string lower = head;
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  size_t p = lower.find("\r\n" + name + ":");
  if (p == std::string::npos) return "";
  size_t start = p + 2 + name.size() + 1;
  size_t end = head.find("\r\n", start);
  std::string v = head.substr(start, end - start);
  while (!v.empty() && v.front() == ' ') v.erase(0, 1);
  return v;
}

std::string RemoveHeader(const std::string& head, const std::string& name) {
  std::string out;
  size_t pos = 0;
  while (pos < head.size()) {
    size_t end = head.find("\r\n", pos);
    if (end == std::string::npos) end = head.size();
    std::string line = head.substr(pos, end - pos);
    std::string lower = line;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    if (lower.rfind(name + ":", 0) != 0) out += line + "\r\n";
    pos = end + 2;
  }
  return out;
}

void Respond(int fd, const std::string& status, const std::string& extra_headers,
             const std::string& body) {
  SendAll(fd, "HTTP/1.1 " + status + "\r\nContent-Length: " + std::to_string(body.size()) +
                  "\r\nConnection: close\r\n" + extra_headers + "\r\n" + body);
}

}  // namespace

RegistryProxy::RegistryProxy(ProxyOptions options)
    : options_(std::move(options)),
      fail_left_(options_.fail_blob_gets),
      truncate_left_(options_.truncate_blob_gets) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::listen(listen_fd_, 64);
  socklen_t len = sizeof a;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  acceptor_ = std::thread([this] { Serve(); });
}

RegistryProxy::~RegistryProxy() {
  Release();
  stop_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  acceptor_.join();
  ::close(listen_fd_);
  std::vector<std::thread> ws;
  {
    std::lock_guard lock(mu_);
    ws.swap(workers_);
  }
  for (auto& t : ws) t.join();
}

void RegistryProxy::Release() {
  std::lock_guard lock(mu_);
  released_ = true;
  released_cv_.notify_all();
}

bool RegistryProxy::holding() const {
  std::lock_guard lock(mu_);
  return holding_;
}

std::vector<ProxyRequest> RegistryProxy::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

void RegistryProxy::Serve() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    std::lock_guard lock(mu_);
    workers_.emplace_back([this, c] {
      Handle(c);
      ::close(c);
    });
  }
}

void RegistryProxy::Handle(int client) {
  // Read the request head (GET/HEAD only carry no body; pushes go to the registry directly).
  std::string head;
  char buf[16384];
  while (head.find("\r\n\r\n") == std::string::npos) {
    ssize_t n = ::recv(client, buf, sizeof buf, 0);
    if (n <= 0) return;
    head.append(buf, static_cast<size_t>(n));
    if (head[0] == 0x16) {
      // A TLS ClientHello: answer like a plain-HTTP server (Go's net/http does the same).
      SendAll(client,
              "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an "
              "HTTPS server.\n");
      return;
    }
  }
  head.resize(head.find("\r\n\r\n") + 2);  // keep the last header's CRLF
  std::string line = head.substr(0, head.find("\r\n"));
  ProxyRequest req;
  req.method = line.substr(0, line.find(' '));
  size_t p1 = line.find(' ') + 1;
  req.path = line.substr(p1, line.find(' ', p1) - p1);
  req.range = HeaderValue(head, "range");
  req.authorization = HeaderValue(head, "authorization");
  bool blob_get = req.method == "GET" && req.path.find("/blobs/sha256:") != std::string::npos;
  bool fail = false;
  bool truncate = false;
  {
    std::unique_lock lock(mu_);
    requests_.push_back(req);
    if (blob_get && fail_left_ > 0) {
      --fail_left_;
      fail = true;
    }
    if (blob_get && !options_.hold_blob.empty() &&
        req.path.find("/blobs/" + options_.hold_blob) != std::string::npos) {
      holding_ = true;
      released_cv_.wait(lock, [&] { return released_; });
    }
  }

  if (!options_.bearer_token.empty()) {
    if (req.path.rfind("/token", 0) == 0) {
      ++token_requests_;
      if (!options_.token_basic_user.empty()) {
        std::string want =
            "Basic " + image::registry::Base64Encode(options_.token_basic_user + ":" +
                                                     options_.token_basic_password);
        if (req.authorization != want) {
          Respond(client, "401 Unauthorized", "", R"({"details":"bad credentials"})");
          return;
        }
      }
      Respond(client, "200 OK", "Content-Type: application/json\r\n",
              R"({"token":")" + options_.bearer_token + R"(","expires_in":300})");
      return;
    }
    if (req.authorization != "Bearer " + options_.bearer_token) {
      std::string repo = req.path.substr(4);  // after "/v2/"
      repo = repo.substr(0, repo.find("/manifests/") != std::string::npos ? repo.find("/manifests/")
                                                                          : repo.find("/blobs/"));
      Respond(client, "401 Unauthorized",
              "WWW-Authenticate: Bearer realm=\"http://" + host() +
                  "/token\",service=\"berth-test\",scope=\"repository:" + repo + ":pull\"\r\n",
              R"({"errors":[{"code":"UNAUTHORIZED"}]})");
      return;
    }
  }
  if (fail) {
    Respond(client, "500 Internal Server Error", "", "injected failure");
    return;
  }
  if (blob_get && !options_.redirect_blobs_to.empty()) {
    Respond(client, "307 Temporary Redirect",
            "Location: " + options_.redirect_blobs_to + req.path + "\r\n", "");
    return;
  }

  int up = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(options_.upstream_port));
  ::inet_pton(AF_INET, options_.upstream_host.c_str(), &a.sin_addr);
  if (::connect(up, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(up);
    Respond(client, "502 Bad Gateway", "", "upstream down");
    return;
  }
  std::string fwd = RemoveHeader(RemoveHeader(head, "connection"), "authorization");
  fwd += "Connection: close\r\n\r\n";
  if (!SendAll(up, fwd)) {
    ::close(up);
    return;
  }
  std::string resp_head;
  bool head_done = false;
  size_t body_sent = 0;
  for (;;) {
    ssize_t n = ::recv(up, buf, sizeof buf, 0);
    if (n <= 0) break;
    std::string_view chunk(buf, static_cast<size_t>(n));
    if (!head_done) {
      resp_head.append(chunk);
      size_t end = resp_head.find("\r\n\r\n");
      if (end == std::string::npos) continue;
      head_done = true;
      std::string body = resp_head.substr(end + 4);
      resp_head.resize(end + 4);
      // Only cut responses that are longer than the cut-off, so a small config blob does not
      // use up the truncation meant for a layer.
      std::string length = HeaderValue(resp_head, "content-length");
      if (blob_get && !length.empty() && std::stoull(length) > options_.truncate_after) {
        std::lock_guard lock(mu_);
        if (truncate_left_ > 0) {
          --truncate_left_;
          truncate = true;
        }
      }
      if (!SendAll(client, resp_head)) break;
      chunk = body;
      if (chunk.empty()) continue;
      // Fall through with the body bytes of this read; they live in `body`, so send now.
      if (truncate) {
        size_t allow =
            options_.truncate_after > body_sent ? options_.truncate_after - body_sent : 0;
        SendAll(client, std::string_view(body).substr(0, allow));
        body_sent += std::min(allow, body.size());
        if (body_sent >= options_.truncate_after) break;
      } else {
        if (!SendAll(client, body)) break;
      }
      continue;
    }
    if (truncate) {
      size_t allow = options_.truncate_after > body_sent ? options_.truncate_after - body_sent : 0;
      SendAll(client, chunk.substr(0, allow));
      body_sent += std::min(allow, chunk.size());
      if (body_sent >= options_.truncate_after) break;
    } else if (!SendAll(client, chunk)) {
      break;
    }
  }
  ::close(up);
}

}  // namespace berth::testing
