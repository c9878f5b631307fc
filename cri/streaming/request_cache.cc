#include "cri/streaming/request_cache.h"

#include <errno.h>
#include <sys/random.h>

#include <string_view>

namespace berth::streaming {

Result<std::string> RandomToken(size_t n) {
  std::string raw(n, '\0');
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::getrandom(raw.data() + got, n - got, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "getrandom");
    }
    got += static_cast<size_t>(r);
  }
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((n * 4 + 2) / 3);
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = static_cast<uint8_t>(raw[i]) << 16;
    if (i + 1 < n) v |= static_cast<uint8_t>(raw[i + 1]) << 8;
    if (i + 2 < n) v |= static_cast<uint8_t>(raw[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    if (i + 1 < n) out += kAlphabet[(v >> 6) & 63];
    if (i + 2 < n) out += kAlphabet[v & 63];
  }
  return out;
}

RequestCache::RequestCache(std::chrono::milliseconds ttl, size_t capacity)
    : ttl_(ttl), capacity_(capacity) {}

void RequestCache::DropExpiredLocked(Clock::time_point now) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.expires <= now) {
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
}

Result<std::string> RequestCache::Insert(CachedRequest request) {
  auto token = RandomToken(32);
  if (!token.ok()) return token.status().Wrap("streaming token");
  std::lock_guard lock(mu_);
  auto now = Clock::now();
  if (entries_.size() >= capacity_) DropExpiredLocked(now);
  if (entries_.size() >= capacity_) {
    return Status(StatusCode::kResourceExhausted, "too many streaming requests in flight (" +
                                                      std::to_string(capacity_) +
                                                      " unused URLs); retry later");
  }
  // 256 random bits: a collision is not a practical concern, but never overwrite one.
  if (entries_.count(*token)) return Internal("streaming token collision");
  entries_.emplace(*token, Entry{std::move(request), now + ttl_});
  return *token;
}

std::optional<CachedRequest> RequestCache::Consume(const std::string& token) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(token);
  if (it == entries_.end()) return std::nullopt;
  Entry e = std::move(it->second);
  entries_.erase(it);
  if (e.expires <= Clock::now()) return std::nullopt;
  return std::move(e.request);
}

size_t RequestCache::Size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

}  // namespace berth::streaming
