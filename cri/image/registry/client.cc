#include "cri/image/registry/client.h"

#include <curl/curl.h>

#include <thread>

#include "cri/image/manifest.h"

namespace berth::image::registry {
namespace {

constexpr int kMaxRedirects = 5;

bool IsTransient(const Status& s) {
  return s.code() == StatusCode::kUnavailable || s.code() == StatusCode::kDeadlineExceeded;
}

// Resolves `location` against `base` (absolute or relative redirect targets).
Result<std::string> ResolveUrl(const std::string& base, const std::string& location) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> u(curl_url(), curl_url_cleanup);
  if (curl_url_set(u.get(), CURLUPART_URL, base.c_str(), 0) != CURLUE_OK ||
      curl_url_set(u.get(), CURLUPART_URL, location.c_str(), CURLU_NON_SUPPORT_SCHEME) !=
          CURLUE_OK) {
    return Unavailable("registry sent an invalid redirect Location \"" + location + "\"");
  }
  char* out = nullptr;
  if (curl_url_get(u.get(), CURLUPART_URL, &out, 0) != CURLUE_OK) {
    return Unavailable("registry sent an invalid redirect Location \"" + location + "\"");
  }
  std::string s(out);
  curl_free(out);
  if (s.rfind("http://", 0) != 0 && s.rfind("https://", 0) != 0) {
    return Unavailable("registry redirected to a non-HTTP URL \"" + s + "\"");
  }
  return s;
}

// scheme://host[:port] of a URL (what "same origin" means for credentials).
std::string Origin(const std::string& url) {
  size_t p = url.find("://");
  if (p == std::string::npos) return url;
  size_t slash = url.find('/', p + 3);
  return url.substr(0, slash);
}
std::string HostPart(const std::string& url) {
  std::string o = Origin(url);
  size_t p = o.find("://");
  return p == std::string::npos ? o : o.substr(p + 3);
}

void RemoveHeader(std::vector<std::string>& headers, std::string_view name) {
  std::erase_if(headers, [&](const std::string& h) {
    return h.size() > name.size() && h[name.size()] == ':' &&
           strncasecmp(h.c_str(), std::string(name).c_str(), name.size()) == 0;
  });
}

std::string Excerpt(const std::string& body) {
  std::string s = body.substr(0, 300);
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

}  // namespace

Status HttpStatusError(const HttpResponse& r, const std::string& what) {
  std::string m = what + ": HTTP " + std::to_string(r.status);
  if (!r.body.empty()) m += ": " + Excerpt(r.body);
  switch (r.status) {
    case 401:
      return Status(StatusCode::kUnauthenticated, m);
    case 403:
      return PermissionDenied(m);
    case 404:
      return NotFound(m);
    case 408:
    case 429:
      return Unavailable(m);
    default:
      if (r.status >= 500) return Unavailable(m);
      return Status(StatusCode::kUnknown, m);
  }
}

RepositoryClient::RepositoryClient(Endpoint endpoint, std::string path,
                                   std::shared_ptr<Authorizer> authorizer, ClientOptions options,
                                   Logger logger)
    : endpoint_(std::move(endpoint)),
      path_(std::move(path)),
      authorizer_(std::move(authorizer)),
      options_(options),
      logger_(std::move(logger)) {
  use_http_ = endpoint_.scheme == "http";
}

std::string RepositoryClient::BaseUrl() const {
  return (use_http_ ? "http://" : "https://") + endpoint_.host;
}

std::chrono::milliseconds RepositoryClient::Backoff(int attempt) const {
  auto d = options_.initial_backoff * (1LL << std::min(attempt, 16));
  return std::min<std::chrono::milliseconds>(d, options_.max_backoff);
}

Result<HttpResponse> RepositoryClient::Send(HttpRequest req) {
  std::string auth = authorizer_->Cached(endpoint_.host, Scope());
  if (!auth.empty()) req.headers.push_back("Authorization: " + auth);
  bool answered_challenge = false;
  for (int hop = 0; hop <= kMaxRedirects;) {
    bool on_endpoint = HostPart(req.url) == endpoint_.host;
    TlsSettings tls;
    if (on_endpoint) tls = {endpoint_.verify_tls, endpoint_.ca_file};
    HttpResponse r = PerformHttp(req, tls, options_.timeouts);
    if (!r.transport_ok()) {
      if (on_endpoint && endpoint_.http_fallback && !use_http_ &&
          req.url.rfind("https://", 0) == 0 &&
          ClassifyTransport(r.curl_code) == TransportFailure::kTlsNotSpoken) {
        logger_.Info("registry does not speak TLS; using plain HTTP", {{"host", endpoint_.host}});
        use_http_ = true;
        req.url = "http://" + req.url.substr(8);
        continue;
      }
      return TransportStatus(r, req.url);
    }
    if (r.status == 401 && on_endpoint && !answered_challenge) {
      auto challenges = ParseWwwAuthenticate(r.Header("www-authenticate"));
      auto answer = authorizer_->Answer(endpoint_.host, Scope(), challenges,
                                        {endpoint_.verify_tls, endpoint_.ca_file});
      if (!answer.ok()) return answer.status();
      RemoveHeader(req.headers, "Authorization");
      req.headers.push_back("Authorization: " + *answer);
      answered_challenge = true;
      continue;
    }
    if (r.status == 401) {
      return Status(StatusCode::kUnauthenticated,
                    "registry " + endpoint_.host + " rejected the credentials for " + path_ +
                        " (HTTP 401)" + (r.body.empty() ? "" : ": " + Excerpt(r.body)));
    }
    if (r.status >= 300 && r.status < 400 && r.status != 304) {
      std::string loc = r.Header("location");
      if (loc.empty()) return HttpStatusError(r, req.url);
      auto next = ResolveUrl(req.url, loc);
      if (!next.ok()) return next.status();
      // Credentials for the registry must not leak to blob storage on another host.
      if (Origin(*next) != Origin(req.url)) RemoveHeader(req.headers, "Authorization");
      req.url = *next;
      ++hop;
      continue;
    }
    return r;
  }
  return Unavailable("too many redirects from " + endpoint_.host);
}

Result<Digest> RepositoryClient::HeadManifest(const std::string& ref) {
  HttpRequest req;
  req.method = "HEAD";
  req.url = BaseUrl() + "/v2/" + path_ + "/manifests/" + ref;
  req.headers.push_back("Accept: " + ManifestAcceptHeader());
  for (int attempt = 0;; ++attempt) {
    auto r = Send(req);
    Status st = r.ok() ? OkStatus() : r.status();
    if (r.ok() && (r->status < 200 || r->status >= 300))
      st = HttpStatusError(*r, "HEAD " + req.url);
    if (st.ok()) {
      std::string h = r->Header("docker-content-digest");
      if (h.empty()) return Digest();
      return Digest::Parse(h);
    }
    if (!IsTransient(st) || attempt + 1 >= options_.max_attempts) return st;
    std::this_thread::sleep_for(Backoff(attempt));
    req.url = BaseUrl() + "/v2/" + path_ + "/manifests/" + ref;
  }
}

Result<FetchedManifest> RepositoryClient::GetManifest(const std::string& ref) {
  std::string what = "manifest " + endpoint_.host + "/" + path_ + ":" + ref;
  if (ref.find(':') != std::string::npos)
    what = "manifest " + endpoint_.host + "/" + path_ + "@" + ref;
  for (int attempt = 0;; ++attempt) {
    HttpRequest req;
    req.url = BaseUrl() + "/v2/" + path_ + "/manifests/" + ref;
    req.headers.push_back("Accept: " + ManifestAcceptHeader());
    req.max_body = kMaxManifestSize;
    auto r = Send(req);
    Status st = r.ok() ? OkStatus() : r.status();
    if (r.ok() && r->body_too_large) {
      return Status(
          StatusCode::kResourceExhausted,
          what + ": larger than the " + std::to_string(kMaxManifestSize) + "-byte manifest limit");
    }
    if (r.ok() && (r->status < 200 || r->status >= 300)) st = HttpStatusError(*r, what);
    if (!st.ok()) {
      if (!IsTransient(st) || attempt + 1 >= options_.max_attempts) return st;
      logger_.Warn("retrying manifest fetch", {{"what", what}, {"error", st.message()}});
      std::this_thread::sleep_for(Backoff(attempt));
      continue;
    }
    FetchedManifest m;
    m.body = std::move(r->body);
    m.media_type = r->Header("content-type");
    if (size_t semi = m.media_type.find(';'); semi != std::string::npos) {
      m.media_type.resize(semi);
    }
    DigestAlgorithm algo = DigestAlgorithm::kSha256;
    Digest want;
    if (ref.find(':') != std::string::npos) {
      auto d = Digest::Parse(ref);
      if (!d.ok()) return d.status();
      want = *d;
      algo = want.algorithm();
    }
    m.digest = DigestOf(m.body, algo);
    if (want.valid() && m.digest != want) {
      return Status(StatusCode::kDataLoss, what + ": content has digest " + m.digest.String() +
                                               ", not the requested " + want.String());
    }
    if (std::string h = r->Header("docker-content-digest"); !h.empty()) {
      auto d = Digest::Parse(h);
      if (d.ok() && d->algorithm() == algo && *d != m.digest) {
        return Status(StatusCode::kDataLoss, what + ": content has digest " + m.digest.String() +
                                                 " but the registry says " + d->String());
      }
    }
    return m;
  }
}

Status RepositoryClient::FetchBlob(Writer& w, const std::function<void(int64_t)>& progress) {
  const std::string what =
      "blob " + w.expected_digest().String() + " from " + endpoint_.host + "/" + path_;
  for (int attempt = 0;; ++attempt) {
    HttpRequest req;
    req.url = BaseUrl() + "/v2/" + path_ + "/blobs/" + w.expected_digest().String();
    int64_t start = w.offset();
    if (w.expected_size() >= 0 && start == w.expected_size()) return OkStatus();  // all here
    if (start > 0) req.headers.push_back("Range: bytes=" + std::to_string(start) + "-");
    Status write_status;
    bool first = true;
    req.sink = [&](const HttpResponse& head, std::string_view chunk) {
      if (first) {
        first = false;
        if (start > 0 && head.status != 206) {
          // The server ignored the range: start over with the full body it is sending.
          write_status = w.Reset();
        } else if (start > 0) {
          std::string cr = head.Header("content-range");  // "bytes N-M/T"
          if (cr.rfind("bytes " + std::to_string(start) + "-", 0) != 0) {
            write_status = Unavailable(what + ": server answered a range request for bytes " +
                                       std::to_string(start) + "- with \"" + cr + "\"");
          }
        }
        if (!write_status.ok()) return false;
      }
      write_status = w.Write(chunk);
      if (!write_status.ok()) return false;
      if (progress) progress(w.offset());
      return true;
    };
    auto r = Send(std::move(req));
    Status st;
    if (!write_status.ok()) {
      st = write_status;
    } else if (!r.ok()) {
      st = r.status();
    } else if (r->status == 416) {
      // Our partial data does not fit what the server has; start from scratch.
      BERTH_RETURN_IF_ERROR(w.Reset());
      st = Unavailable(what + ": range not satisfiable, restarting");
    } else if (r->status < 200 || r->status >= 300) {
      st = HttpStatusError(*r, what);
    }
    if (st.ok()) return OkStatus();
    if (!IsTransient(st) || attempt + 1 >= options_.max_attempts) {
      if (attempt == 0) return st;
      return st.Wrap("after " + std::to_string(attempt + 1) + " attempts");
    }
    logger_.Warn("retrying blob download", {{"what", what},
                                            {"offset", static_cast<long long>(w.offset())},
                                            {"attempt", attempt + 1},
                                            {"error", st.message()}});
    std::this_thread::sleep_for(Backoff(attempt));
  }
}

}  // namespace berth::image::registry
