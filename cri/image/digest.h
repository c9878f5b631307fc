#pragma once
// Content digests ("sha256:<64 hex>", "sha512:<128 hex>") and incremental hashing.
//
// A Digest is a validated value: once constructed through Parse() or a Hasher it always holds a
// supported algorithm and lowercase hex of the right length. Plain value, thread-compatible.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace berth::image {

enum class DigestAlgorithm { kSha256, kSha512 };

class Digest {
 public:
  Digest() = default;  // empty; valid() is false

  // Parses "algo:hex". INVALID_ARGUMENT naming the problem for anything else (unknown
  // algorithm, wrong length, uppercase or non-hex characters).
  static Result<Digest> Parse(std::string_view text);

  bool valid() const { return !hex_.empty(); }
  DigestAlgorithm algorithm() const { return algorithm_; }
  std::string_view algorithm_name() const;  // "sha256" | "sha512"
  const std::string& hex() const { return hex_; }
  std::string String() const;  // "sha256:abc…"; "" when !valid()

  friend bool operator==(const Digest&, const Digest&) = default;
  friend auto operator<=>(const Digest& a, const Digest& b) { return a.String() <=> b.String(); }

 private:
  friend class Hasher;
  Digest(DigestAlgorithm a, std::string hex) : algorithm_(a), hex_(std::move(hex)) {}
  DigestAlgorithm algorithm_ = DigestAlgorithm::kSha256;
  std::string hex_;
};

// Incremental hash (OpenSSL EVP). Movable, not copyable; not thread-safe.
class Hasher {
 public:
  explicit Hasher(DigestAlgorithm algorithm = DigestAlgorithm::kSha256);
  ~Hasher();
  Hasher(Hasher&&) noexcept;
  Hasher& operator=(Hasher&&) noexcept;

  void Update(std::string_view data);
  // The digest of everything passed to Update so far; the hasher can keep going afterwards.
  Digest Current() const;
  // Starts over.
  void Reset();
  DigestAlgorithm algorithm() const { return algorithm_; }

 private:
  struct Ctx;
  DigestAlgorithm algorithm_;
  std::unique_ptr<Ctx> ctx_;
};

// The digest of `data`.
Digest DigestOf(std::string_view data, DigestAlgorithm algorithm = DigestAlgorithm::kSha256);

}  // namespace berth::image
