#include "cri/image/registry/http.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <memory>

namespace berth::image::registry {
namespace {

constexpr size_t kMaxErrorBody = 64 << 10;

struct Transfer {
  const HttpRequest* req;
  HttpResponse* resp;
  bool aborted_by_sink = false;
};

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    // A new response (e.g. after "100 Continue"): forget earlier headers.
    t->resp->headers.clear();
    size_t sp = line.find(' ');
    if (sp != std::string_view::npos)
      t->resp->status = std::atol(std::string(line.substr(sp + 1, 3)).c_str());
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    std::string_view v = line.substr(colon + 1);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' '))
      v.remove_suffix(1);
    t->resp->headers.emplace(std::move(name), std::string(v));
  }
  return size * n;
}

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view chunk(data, size * n);
  bool success = t->resp->status >= 200 && t->resp->status < 300;
  if (success && t->req->sink) {
    if (!t->req->sink(*t->resp, chunk)) {
      t->aborted_by_sink = true;
      return 0;  // CURLE_WRITE_ERROR
    }
    return chunk.size();
  }
  size_t limit = success ? static_cast<size_t>(t->req->max_body) : kMaxErrorBody;
  if (t->resp->body.size() + chunk.size() > limit) {
    t->resp->body_too_large = true;
    if (success) return 0;
    t->resp->body.append(chunk.substr(0, limit - std::min(limit, t->resp->body.size())));
    return chunk.size();
  }
  t->resp->body.append(chunk);
  return chunk.size();
}

}  // namespace

std::string HttpResponse::Header(std::string_view name) const {
  auto it = headers.find(std::string(name));
  return it == headers.end() ? "" : it->second;
}

HttpResponse PerformHttp(const HttpRequest& req, const TlsSettings& tls, const HttpTimeouts& to) {
  HttpResponse resp;
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> h(curl_easy_init(), curl_easy_cleanup);
  if (!h) {
    resp.curl_code = CURLE_FAILED_INIT;
    resp.curl_error = "curl_easy_init failed";
    return resp;
  }
  CURL* c = h.get();
  Transfer t{&req, &resp};
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_slist* hdrs = nullptr;
  for (const auto& hv : req.headers) hdrs = curl_slist_append(hdrs, hv.c_str());
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> hdr_guard(hdrs, curl_slist_free_all);

  curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM in a threaded daemon
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, to.connect_ms);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, to.low_speed_seconds);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, to.low_speed_bytes);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "berth/" BERTH_VERSION);
  // Registries compress nothing worth it (layers are compressed already); and a transparently
  // decoded body would break digest checks.
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, nullptr);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, tls.verify ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, tls.verify ? 2L : 0L);
  if (!tls.ca_file.empty()) {
    curl_easy_setopt(c, CURLOPT_CAINFO, tls.ca_file.c_str());
  }
  if (req.method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (req.method == "POST" || req.method == "PUT" || req.method == "PATCH") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, req.body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
  } else if (req.method != "GET") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }

  CURLcode rc = curl_easy_perform(c);
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  if (code) resp.status = code;
  if (rc != CURLE_OK) {
    resp.curl_code = rc;
    resp.curl_error = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    if (t.aborted_by_sink) resp.curl_error = "aborted by receiver";
  }
  return resp;
}

TransportFailure ClassifyTransport(int code) {
  switch (static_cast<CURLcode>(code)) {
    case CURLE_OK:
      return TransportFailure::kNone;
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return TransportFailure::kRetryable;
    case CURLE_SSL_CONNECT_ERROR:
      return TransportFailure::kTlsNotSpoken;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
      return TransportFailure::kTlsVerify;
    default:
      return TransportFailure::kFatal;
  }
}

Status TransportStatus(const HttpResponse& r, std::string_view url) {
  std::string m = std::string(url) + ": " + r.curl_error;
  switch (ClassifyTransport(r.curl_code)) {
    // TLS problems need configuration, not retries: FAILED_PRECONDITION.
    case TransportFailure::kTlsVerify:
      return FailedPrecondition(m +
                                " (TLS verification failed: configure ca_file for this "
                                "registry, or mark it insecure)");
    case TransportFailure::kTlsNotSpoken:
      return FailedPrecondition(m +
                                " (TLS handshake failed: is this a plain-HTTP registry? mark "
                                "it insecure or use an http:// mirror URL)");
    case TransportFailure::kRetryable:
      if (r.curl_code == CURLE_OPERATION_TIMEDOUT) return Status(StatusCode::kDeadlineExceeded, m);
      return Unavailable(m);
    default:
      return Unavailable(m);
  }
}

}  // namespace berth::image::registry
