#pragma once
// A client for one repository on one registry endpoint (OCI distribution API v2, pull side).
//
// What it does for every request: adds the Authorization it learned for the host (or answers a
// 401 through the Authorizer and retries once), follows redirects itself (up to 5; the
// Authorization header is dropped when the redirect leaves the endpoint's host, e.g. to blob
// storage), falls back from HTTPS to HTTP when the endpoint allows it and the server does not
// speak TLS (remembered for later requests), and maps HTTP statuses to Status codes:
// 401 UNAUTHENTICATED, 403 PERMISSION_DENIED, 404 NOT_FOUND, 429/5xx UNAVAILABLE.
//
// Transient failures (connection errors, timeouts, resets, truncated bodies, 429, 5xx) are
// retried with exponential backoff up to RetryPolicy::max_attempts; blob downloads resume
// from the bytes already received with "Range: bytes=N-" (restarting when the server ignores
// the range).
//
// Thread-safe: GetManifest/FetchBlob may run concurrently (parallel layer downloads).

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "common/log.h"
#include "common/status.h"
#include "cri/image/content_store.h"
#include "cri/image/digest.h"
#include "cri/image/registry/auth.h"
#include "cri/image/registry/config.h"
#include "cri/image/registry/http.h"

namespace berth::image::registry {

struct ClientOptions {
  HttpTimeouts timeouts;
  int max_attempts = 5;  // per request, counting the first
  std::chrono::milliseconds initial_backoff{250};
  std::chrono::milliseconds max_backoff{8000};
};

struct FetchedManifest {
  std::string body;
  std::string media_type;  // Content-Type (parameters stripped)
  Digest digest;           // verified: the digest of body
};

class RepositoryClient {
 public:
  // `path` is the repository path ("library/busybox"). `authorizer` is shared by every client
  // of one pull (its token cache outlives a single repository/endpoint).
  RepositoryClient(Endpoint endpoint, std::string path, std::shared_ptr<Authorizer> authorizer,
                   ClientOptions options, Logger logger);

  const Endpoint& endpoint() const { return endpoint_; }
  // The base URL in use: the endpoint's, or its http:// form after a TLS fallback.
  std::string BaseUrl() const;

  // HEAD /v2/<path>/manifests/<ref>: the digest the registry reports (Docker-Content-Digest),
  // or an invalid Digest when it reports none.
  Result<Digest> HeadManifest(const std::string& tag_or_digest);

  // GET /v2/<path>/manifests/<ref> with every supported manifest type accepted. The body's
  // digest is computed and must equal `tag_or_digest` when that is a digest, and the
  // Docker-Content-Digest header when present (DATA_LOSS otherwise). Bodies over 4 MiB are
  // RESOURCE_EXHAUSTED.
  Result<FetchedManifest> GetManifest(const std::string& tag_or_digest);

  // GET /v2/<path>/blobs/<digest> into `writer`, from writer.offset() on. `progress` (may be
  // empty) gets the total bytes written so far, from the calling thread. Verification is the
  // writer's commit; this only moves bytes.
  Status FetchBlob(Writer& writer, const std::function<void(int64_t)>& progress);

 private:
  Result<HttpResponse> Send(HttpRequest req);
  std::string Scope() const { return "repository:" + path_ + ":pull"; }
  std::chrono::milliseconds Backoff(int attempt) const;

  Endpoint endpoint_;
  std::string path_;
  std::shared_ptr<Authorizer> authorizer_;
  ClientOptions options_;
  Logger logger_;
  std::atomic<bool> use_http_{false};  // set once HTTPS proved not to be spoken
};

// The Status for a non-2xx response to `what` (e.g. "manifest docker.io/x:1").
Status HttpStatusError(const HttpResponse& r, const std::string& what);

}  // namespace berth::image::registry
