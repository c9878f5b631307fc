#include "cri/image/digest.h"

#include <openssl/evp.h>

#include <stdexcept>

namespace berth::image {
namespace {

const EVP_MD* Md(DigestAlgorithm a) {
  return a == DigestAlgorithm::kSha512 ? EVP_sha512() : EVP_sha256();
}

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

Result<Digest> Digest::Parse(std::string_view text) {
  auto fail = [&](std::string why) {
    return InvalidArgument("invalid digest \"" + std::string(text) + "\": " + why);
  };
  size_t colon = text.find(':');
  if (colon == std::string_view::npos) return fail("expected <algorithm>:<hex>");
  std::string_view algo = text.substr(0, colon);
  std::string_view hex = text.substr(colon + 1);
  DigestAlgorithm a;
  size_t want;
  if (algo == "sha256") {
    a = DigestAlgorithm::kSha256;
    want = 64;
  } else if (algo == "sha512") {
    a = DigestAlgorithm::kSha512;
    want = 128;
  } else {
    return fail("unsupported algorithm \"" + std::string(algo) + "\" (sha256 and sha512 are)");
  }
  if (hex.size() != want) {
    return fail(std::string(algo) + " needs " + std::to_string(want) + " hex characters, got " +
                std::to_string(hex.size()));
  }
  if (!IsLowerHex(hex)) return fail("hex part must be lowercase 0-9a-f");
  return Digest(a, std::string(hex));
}

std::string_view Digest::algorithm_name() const {
  return algorithm_ == DigestAlgorithm::kSha512 ? "sha512" : "sha256";
}

std::string Digest::String() const {
  if (!valid()) return "";
  return std::string(algorithm_name()) + ":" + hex_;
}

struct Hasher::Ctx {
  EVP_MD_CTX* md = nullptr;
  ~Ctx() { EVP_MD_CTX_free(md); }
};

Hasher::Hasher(DigestAlgorithm algorithm) : algorithm_(algorithm), ctx_(std::make_unique<Ctx>()) {
  ctx_->md = EVP_MD_CTX_new();
  if (!ctx_->md) throw std::bad_alloc();
  Reset();
}

Hasher::~Hasher() = default;
Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;

void Hasher::Reset() {
  // EVP_DigestInit_ex only fails on allocation failure or a disabled algorithm; neither is
  // recoverable here and both make every later digest wrong, so treat them as fatal.
  if (EVP_DigestInit_ex(ctx_->md, Md(algorithm_), nullptr) != 1) {
    throw std::runtime_error("EVP_DigestInit_ex failed");
  }
}

void Hasher::Update(std::string_view data) {
  if (data.empty()) return;
  EVP_DigestUpdate(ctx_->md, data.data(), data.size());
}

Digest Hasher::Current() const {
  // Finalising consumes the context, so finalise a copy: Current() is then cheap to call at any
  // point (e.g. to check a partially written ingest).
  EVP_MD_CTX* copy = EVP_MD_CTX_new();
  if (!copy || EVP_MD_CTX_copy_ex(copy, ctx_->md) != 1) {
    EVP_MD_CTX_free(copy);
    throw std::bad_alloc();
  }
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(copy, out, &len);
  EVP_MD_CTX_free(copy);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    hex.push_back(kHex[out[i] >> 4]);
    hex.push_back(kHex[out[i] & 0xf]);
  }
  return Digest(algorithm_, std::move(hex));
}

Digest DigestOf(std::string_view data, DigestAlgorithm algorithm) {
  Hasher h(algorithm);
  h.Update(data);
  return h.Current();
}

}  // namespace berth::image
