#pragma once
// RequestCache: the validated Exec/Attach/PortForward requests waiting for their client to
// connect, each under a single-use, unguessable token (32 random bytes from getrandom,
// base64url without padding: 43 characters).
//
// A token is valid once (Consume removes it) and only until `ttl` after it was issued.
// Capacity is bounded: Insert drops expired entries first and refuses with
// RESOURCE_EXHAUSTED when `capacity` live tokens remain (like kubelet's in-flight limit), so
// a client issuing tokens it never uses cannot grow berthd's memory.
//
// Threads: every method may be called from any thread (one mutex).

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <variant>

#include "api/cri.h"
#include "common/status.h"

namespace berth::streaming {

using CachedRequest = std::variant<runtime::v1::ExecRequest, runtime::v1::AttachRequest,
                                   runtime::v1::PortForwardRequest>;

class RequestCache {
 public:
  using Clock = std::chrono::steady_clock;

  RequestCache(std::chrono::milliseconds ttl, size_t capacity);

  // A new token for `request`. RESOURCE_EXHAUSTED when full of live tokens; INTERNAL when the
  // kernel's random source fails.
  Result<std::string> Insert(CachedRequest request);
  // The request stored under `token`, removing it; nullopt for unknown, used or expired ones.
  std::optional<CachedRequest> Consume(const std::string& token);
  size_t Size() const;

 private:
  void DropExpiredLocked(Clock::time_point now);

  struct Entry {
    CachedRequest request;
    Clock::time_point expires;
  };
  const std::chrono::milliseconds ttl_;
  const size_t capacity_;
  mutable std::mutex mu_;
  std::map<std::string, Entry> entries_;  // guarded by mu_
};

// `n` random bytes from getrandom(2), base64url-encoded without padding.
Result<std::string> RandomToken(size_t n = 32);

}  // namespace berth::streaming
