#include "streaming_test_support.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include <cstdio>
#include <cstring>

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>

namespace berth::streaming::testing {

namespace net = boost::asio;
using tcp = net::ip::tcp;

Result<int> TestBackend::Exec(const std::string&, const std::vector<std::string>& cmd,
                              const ExecStreams& io) {
  ++started;
  ++running;
  struct Done {
    std::atomic<int>& r;
    ~Done() { --r; }
  } done{running};
  const std::string& what = cmd.at(0);
  if (what == "echo") {
    char buf[16384];
    size_t n;
    while (io.in && (n = io.in->Read(buf, sizeof(buf))) > 0) {
      if (io.out && !io.out->Write(std::string_view(buf, n))) return 1;
    }
    return 0;
  }
  if (what == "exit") return std::stoi(cmd.at(1));
  if (what == "stderr") {
    if (io.err) io.err->Write(cmd.at(1));
    return 0;
  }
  if (what == "bigout") {
    uint64_t total = std::stoull(cmd.at(1));
    std::string chunk;
    for (uint64_t off = 0; off < total;) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(100000, total - off));
      chunk.resize(n);
      for (size_t i = 0; i < n; ++i) chunk[i] = PatternByte(off + i);
      if (!io.out->Write(chunk)) return 1;
      off += n;
    }
    return 0;
  }
  if (what == "resize") {
    int k = std::stoi(cmd.at(1));
    TerminalSize size;
    for (int i = 0; i < k && io.resize && io.resize->Next(&size); ++i) {
      io.out->Write(std::to_string(size.width) + "x" + std::to_string(size.height) + "\n");
    }
    return 0;
  }
  if (what == "wait") {
    std::mutex m;
    std::condition_variable cv;
    bool fired = false;
    uint64_t h = io.cancel->OnCancel([&] {
      std::lock_guard lock(m);
      fired = true;
      cv.notify_all();
    });
    {
      std::unique_lock lock(m);
      cv.wait(lock, [&] { return fired; });
    }
    io.cancel->Unregister(h);
    std::lock_guard lock(mu_);
    ++cancelled_;
    cv_.notify_all();
    return 137;
  }
  if (what == "fail") return Internal("the test backend was asked to fail");
  if (what == "stopstdin") {
    // As ContainerStreams does when the process exits while the client keeps stdin open:
    // Stop() must end the blocked reads, or this never returns.
    std::thread reader([&] {
      char buf[4096];
      while (io.in->Read(buf, sizeof(buf)) > 0) {
      }
    });
    std::thread resizer([&] {
      TerminalSize size;
      while (io.resize && io.resize->Next(&size)) {
      }
    });
    io.out->Write("started");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    io.in->Stop();
    if (io.resize) io.resize->Stop();
    reader.join();
    resizer.join();
    return 5;
  }
  return InvalidArgument("unknown test command " + what);
}

Status TestBackend::Attach(const std::string&, const ExecStreams& io) {
  char buf[16384];
  size_t n;
  while (io.in && (n = io.in->Read(buf, sizeof(buf))) > 0) {
    if (io.out) io.out->Write(std::string_view(buf, n));
  }
  return OkStatus();
}

Result<UniqueFd> TestBackend::DialPod(const std::string& pod_id, uint16_t port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    return Unavailable("failed to connect to localhost:" + std::to_string(port) +
                       " inside namespace \"" + pod_id + "\": " + std::strerror(errno));
  }
  return fd;
}

bool TestBackend::WaitCancelled(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return cancelled_ > 0; });
}

EchoServer::EchoServer() : listen_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(listen_.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
  ::listen(listen_.get(), 64);
  socklen_t len = sizeof(sa);
  ::getsockname(listen_.get(), reinterpret_cast<sockaddr*>(&sa), &len);
  port_ = ntohs(sa.sin_port);
  thread_ = std::thread([this] {
    for (;;) {
      int fd = ::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;
      std::lock_guard lock(mu_);
      fds_.push_back(fd);
      conns_.emplace_back([fd] {
        char buf[65536];
        for (;;) {
          ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
          if (n <= 0) break;
          if (::send(fd, buf, static_cast<size_t>(n), MSG_NOSIGNAL) != n) break;
        }
        ::shutdown(fd, SHUT_WR);
      });
    }
  });
}

EchoServer::~EchoServer() {
  ::shutdown(listen_.get(), SHUT_RDWR);
  thread_.join();
  for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
  for (auto& t : conns_) t.join();
  for (int fd : fds_) ::close(fd);
}

uint16_t ClosedPort() {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
  socklen_t len = sizeof(sa);
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&sa), &len);
  return ntohs(sa.sin_port);  // bound, never listening: connections are refused
}

Url ParseUrl(const std::string& url) {
  Url u;
  size_t scheme = url.find("://");
  size_t host_start = scheme + 3;
  size_t path = url.find('/', host_start);
  std::string hostport = url.substr(host_start, path - host_start);
  size_t colon = hostport.rfind(':');
  u.host = hostport.substr(0, colon);
  if (!u.host.empty() && u.host.front() == '[') u.host = u.host.substr(1, u.host.size() - 2);
  u.port = static_cast<uint16_t>(std::stoi(hostport.substr(colon + 1)));
  u.path = path == std::string::npos ? "/" : url.substr(path);
  return u;
}

std::unique_ptr<ClientConn> ClientConn::Connect(const Url& url, bool use_tls) {
  auto c = std::make_unique<ClientConn>();
  c->sock = std::make_unique<tcp::socket>(c->ioc);
  c->sock->connect(tcp::endpoint(net::ip::make_address(url.host), url.port));
  if (use_tls) {
    c->ctx = std::make_unique<net::ssl::context>(net::ssl::context::tls_client);
    c->ctx->set_verify_mode(net::ssl::verify_none);
    c->tls = std::make_unique<TlsProxy::TlsStream>(std::move(*c->sock), *c->ctx);
    c->tls->handshake(net::ssl::stream_base::client);
  }
  return c;
}

ClientConn::~ClientConn() {
  proxy.reset();
  tls.reset();
}

void ClientConn::Send(const std::string& bytes) {
  if (tls) {
    net::write(*tls, net::buffer(bytes));
  } else {
    net::write(*sock, net::buffer(bytes));
  }
}

std::string ClientConn::ReadHead() {
  std::string data = std::move(leftover);
  leftover.clear();
  char buf[4096];
  for (;;) {
    size_t end = data.find("\r\n\r\n");
    if (end != std::string::npos) {
      leftover = data.substr(end + 4);
      return data.substr(0, end + 4);
    }
    boost::system::error_code ec;
    size_t n = tls ? tls->read_some(net::buffer(buf), ec) : sock->read_some(net::buffer(buf), ec);
    if (ec) return data;
    data.append(buf, n);
  }
}

std::string ClientConn::ReadAll() {
  std::string data = std::move(leftover);
  leftover.clear();
  char buf[4096];
  for (;;) {
    boost::system::error_code ec;
    size_t n = tls ? tls->read_some(net::buffer(buf), ec) : sock->read_some(net::buffer(buf), ec);
    if (ec) return data;
    data.append(buf, n);
  }
}

UniqueFd ClientConn::TakePlain() {
  if (!tls) return UniqueFd(sock->release());
  UniqueFd plain;
  auto p = TlsProxy::Start(ioc, *tls, &plain);
  if (!p.ok()) return UniqueFd();
  proxy = std::move(*p);
  return plain;
}

namespace {

int StatusOf(const std::string& head) {
  if (head.size() < 12) return 0;
  return std::atoi(head.c_str() + 9);
}

std::string RequestHead(const Url& u, const std::string& method, const std::string& extra) {
  return method + " " + u.path + " HTTP/1.1\r\nHost: " + u.host + ":" + std::to_string(u.port) +
         "\r\n" + extra + "\r\n";
}

}  // namespace

HttpResponse HttpRequest(const std::string& url, const std::string& method,
                         const std::string& extra, bool tls) {
  Url u = ParseUrl(url);
  auto c = ClientConn::Connect(u, tls);
  c->Send(RequestHead(u, method, extra));
  HttpResponse r;
  r.head = c->ReadHead();
  r.status = StatusOf(r.head);
  r.body = c->ReadAll();
  return r;
}

SpdyClient SpdyConnect(const std::string& url, const std::vector<std::string>& protocols,
                       bool tls) {
  Url u = ParseUrl(url);
  SpdyClient c;
  c.conn = ClientConn::Connect(u, tls);
  std::string extra = "Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\n";
  for (const auto& p : protocols) extra += "X-Stream-Protocol-Version: " + p + "\r\n";
  c.conn->Send(RequestHead(u, "POST", extra));
  c.head = c.conn->ReadHead();
  c.status = StatusOf(c.head);
  if (c.status != 101) return c;
  const std::string key = "X-Stream-Protocol-Version: ";
  size_t at = c.head.find(key);
  if (at != std::string::npos) {
    size_t end = c.head.find("\r\n", at);
    c.protocol = c.head.substr(at + key.size(), end - at - key.size());
  }
  spdy::SessionOptions o;
  o.server = false;
  std::string preread = std::move(c.conn->leftover);
  c.session = spdy::Session::Start(c.conn->TakePlain(), std::move(preread), std::move(o));
  return c;
}

std::string ReadAll(spdy::Stream& stream) {
  std::string out;
  char buf[65536];
  size_t n;
  while ((n = stream.Read(buf, sizeof(buf))) > 0) out.append(buf, n);
  return out;
}

void WriteSelfSignedCert(const std::string& dir, std::string* cert, std::string* key) {
  EVP_PKEY* pkey = EVP_EC_gen("P-256");
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -60);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, pkey);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509_sign(x, pkey, EVP_sha256());
  *cert = dir + "/cert.pem";
  *key = dir + "/key.pem";
  FILE* f = std::fopen(cert->c_str(), "w");
  PEM_write_X509(f, x);
  std::fclose(f);
  f = std::fopen(key->c_str(), "w");
  PEM_write_PrivateKey(f, pkey, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  X509_free(x);
  EVP_PKEY_free(pkey);
}

runtime::v1::ExecRequest ExecReq(std::vector<std::string> cmd, bool in, bool out, bool err,
                                 bool tty) {
  runtime::v1::ExecRequest r;
  r.set_container_id("c1");
  for (auto& c : cmd) r.add_cmd(c);
  r.set_stdin(in);
  r.set_stdout(out);
  r.set_stderr(err);
  r.set_tty(tty);
  return r;
}

}  // namespace berth::streaming::testing
