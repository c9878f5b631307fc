#include "bench/support/random_layout.h"

#include <openssl/evp.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <zlib.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include <nlohmann/json.hpp>

namespace berth::bench {
namespace {

namespace fs = std::filesystem;

// splitmix64: tiny, fast, and the same sequence everywhere.
class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  void Fill(std::string& buf) {
    size_t i = 0;
    for (; i + 8 <= buf.size(); i += 8) {
      uint64_t v = Next();
      std::memcpy(&buf[i], &v, 8);
    }
    for (; i < buf.size(); ++i) buf[i] = static_cast<char>(Next());
  }
  // Words up to exactly `size` bytes.
  void FillText(std::string& buf, size_t size) {
    static constexpr std::array<const char*, 16> kWords = {
        "berth ",     "layer ",  "image ",     "snapshot ", "overlay ", "registry ",
        "digest ",    "pull ",   "container ", "runtime ",  "kubelet ", "pod ",
        "namespace ", "cgroup ", "shim ",      "\n"};
    buf.clear();
    while (buf.size() < size) buf += kWords[Next() % kWords.size()];
    buf.resize(size);
  }

 private:
  uint64_t state_;
};

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }
  ~Sha256() { EVP_MD_CTX_free(ctx_); }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(const void* p, size_t n) { EVP_DigestUpdate(ctx_, p, n); }
  std::string Hex() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx_, md, &n);
    std::string out;
    char b[3];
    for (unsigned i = 0; i < n; ++i) {
      std::snprintf(b, sizeof b, "%02x", md[i]);
      out += b;
    }
    return out;
  }

 private:
  EVP_MD_CTX* ctx_;
};

// Streams a tar through gzip into a file, hashing both the tar and the gzip bytes.
class LayerWriter {
 public:
  explicit LayerWriter(const std::string& path) : out_(path, std::ios::binary) {
    std::memset(&z_, 0, sizeof z_);
    deflateInit2(&z_, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  }
  ~LayerWriter() { deflateEnd(&z_); }
  LayerWriter(const LayerWriter&) = delete;
  LayerWriter& operator=(const LayerWriter&) = delete;

  void Entry(const std::string& name, char type, const std::string& data, unsigned mode) {
    char h[512] = {};
    std::snprintf(h, 100, "%s", name.c_str());
    std::snprintf(h + 100, 8, "%07o", mode);
    std::snprintf(h + 108, 8, "%07o", 0);
    std::snprintf(h + 116, 8, "%07o", 0);
    std::snprintf(h + 124, 12, "%011llo", static_cast<unsigned long long>(data.size()));
    std::snprintf(h + 136, 12, "%011o", 1700000000u);
    h[156] = type;
    std::memcpy(h + 257, "ustar", 6);
    std::memcpy(h + 263, "00", 2);
    std::memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (unsigned char c : h) sum += c;
    std::snprintf(h + 148, 8, "%06o", sum);
    Tar(h, 512);
    Tar(data.data(), data.size());
    static const char kZeros[512] = {};
    if (data.size() % 512) Tar(kZeros, 512 - data.size() % 512);
  }

  // Ends the tar and the gzip stream; returns {tar hex, blob hex, tar size, blob size}.
  struct Sums {
    std::string tar_hex, blob_hex;
    uint64_t tar_size, blob_size;
  };
  Result<Sums> Finish() {
    static const char kZeros[1024] = {};
    Tar(kZeros, 1024);
    Deflate(nullptr, 0, Z_FINISH);
    out_.close();
    if (!out_) return Internal("writing a layer failed");
    return Sums{tar_sum_.Hex(), blob_sum_.Hex(), tar_size_, blob_size_};
  }

 private:
  void Tar(const void* p, size_t n) {
    tar_sum_.Update(p, n);
    tar_size_ += n;
    Deflate(p, n, Z_NO_FLUSH);
  }
  void Deflate(const void* p, size_t n, int flush) {
    z_.next_in = static_cast<Bytef*>(const_cast<void*>(p));
    z_.avail_in = static_cast<uInt>(n);
    unsigned char buf[1 << 16];
    do {
      z_.next_out = buf;
      z_.avail_out = sizeof buf;
      deflate(&z_, flush);
      size_t produced = sizeof buf - z_.avail_out;
      out_.write(reinterpret_cast<char*>(buf), static_cast<std::streamsize>(produced));
      blob_sum_.Update(buf, produced);
      blob_size_ += produced;
    } while (z_.avail_out == 0);
  }

  std::ofstream out_;
  z_stream z_;
  Sha256 tar_sum_, blob_sum_;
  uint64_t tar_size_ = 0, blob_size_ = 0;
};

std::string HostArch() {
  utsname u{};
  ::uname(&u);
  std::string m = u.machine;
  if (m == "x86_64") return "amd64";
  if (m == "aarch64") return "arm64";
  return m;
}

// Stores `data` as a blob; returns its digest.
Result<std::string> AddBlob(const std::string& dir, const std::string& data) {
  Sha256 sum;
  sum.Update(data.data(), data.size());
  std::string hex = sum.Hex();
  std::ofstream out(dir + "/blobs/sha256/" + hex, std::ios::binary);
  out << data;
  out.close();
  if (!out) return Internal("writing blob " + hex);
  return "sha256:" + hex;
}

}  // namespace

uint64_t Layout::TotalBlobBytes() const {
  uint64_t n = 0;
  for (const auto& l : layers) n += l.size;
  return n;
}

Result<Layout> WriteRandomLayout(const std::string& dir, const LayoutSpec& spec) {
  std::error_code ec;
  fs::create_directories(dir + "/blobs/sha256", ec);
  if (ec) return Internal("create " + dir + ": " + ec.message());
  Layout layout;
  layout.dir = dir;
  nlohmann::json diff_ids = nlohmann::json::array();
  nlohmann::json layers = nlohmann::json::array();
  for (size_t i = 0; i < spec.layers.size(); ++i) {
    const LayerSpec& ls = spec.layers[i];
    Random rng(spec.seed * 1000003 + i);
    std::string tmp = dir + "/layer.tmp";
    auto sums = [&]() -> Result<LayerWriter::Sums> {
      LayerWriter w(tmp);
      const std::string top = "layer" + std::to_string(i) + "/";
      w.Entry(top, '5', "", 0755);
      const int files = std::max(ls.files, 1);
      const uint64_t per_file = ls.bytes / static_cast<uint64_t>(files);
      const int dirs = files > 100 ? files / 100 : 0;
      for (int d = 0; d < dirs; ++d) w.Entry(top + "d" + std::to_string(d) + "/", '5', "", 0755);
      std::string data;
      for (int f = 0; f < files; ++f) {
        if (ls.text) {
          rng.FillText(data, per_file);
        } else {
          data.resize(per_file);
          rng.Fill(data);
        }
        std::string name = top + (dirs > 0 ? "d" + std::to_string(f % dirs) + "/" : "") + "f" +
                           std::to_string(f) + ".bin";
        w.Entry(name, '0', data, 0644);
      }
      return w.Finish();
    }();
    if (!sums.ok()) return sums.status();
    std::string blob = dir + "/blobs/sha256/" + sums->blob_hex;
    fs::rename(tmp, blob, ec);
    if (ec) return Internal("rename " + tmp + ": " + ec.message());
    LayerBlob lb{blob, "sha256:" + sums->blob_hex, sums->blob_size, sums->tar_size};
    diff_ids.push_back("sha256:" + sums->tar_hex);
    layers.push_back({{"mediaType", "application/vnd.oci.image.layer.v1.tar+gzip"},
                      {"digest", lb.digest},
                      {"size", lb.size}});
    layout.layers.push_back(std::move(lb));
  }
  nlohmann::json config = {{"architecture", HostArch()},
                           {"os", "linux"},
                           {"created", "2023-11-14T22:13:20Z"},
                           {"config", {{"Cmd", {"sh"}}, {"Labels", {{"org.berth.bench", "true"}}}}},
                           {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}};
  std::string config_text = config.dump();
  auto config_digest = AddBlob(dir, config_text);
  if (!config_digest.ok()) return config_digest.status();
  layout.config_digest = *config_digest;
  nlohmann::json manifest = {{"schemaVersion", 2},
                             {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                             {"config",
                              {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                               {"digest", *config_digest},
                               {"size", config_text.size()}}},
                             {"layers", layers}};
  std::string manifest_text = manifest.dump();
  auto manifest_digest = AddBlob(dir, manifest_text);
  if (!manifest_digest.ok()) return manifest_digest.status();
  layout.manifest_digest = *manifest_digest;
  nlohmann::json index = {{"schemaVersion", 2},
                          {"mediaType", "application/vnd.oci.image.index.v1+json"},
                          {"manifests",
                           {{{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                             {"digest", *manifest_digest},
                             {"size", manifest_text.size()},
                             {"platform", {{"architecture", HostArch()}, {"os", "linux"}}},
                             {"annotations", {{"org.opencontainers.image.ref.name", "latest"}}}}}}};
  std::ofstream(dir + "/index.json") << index.dump();
  std::ofstream(dir + "/oci-layout") << R"({"imageLayoutVersion":"1.0.0"})";
  return layout;
}

}  // namespace berth::bench
