#pragma once
// Deterministic OCI image layouts for benchmarks: layers of seeded pseudo-random data (so the
// bytes do not compress and every run of every machine gets the same digests), or of many small
// compressible text files (where per-entry costs dominate). Tars are ustar with fixed owners
// and mtimes; layers are gzip. Nothing here is fast on purpose: it runs once per bench.

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace berth::bench {

struct LayerSpec {
  uint64_t bytes = 0;  // total file data in the layer
  int files = 1;       // split across this many files
  bool text = false;   // compressible words instead of random bytes
};

struct LayoutSpec {
  uint64_t seed = 1;
  std::vector<LayerSpec> layers;
};

struct LayerBlob {
  std::string path;       // the gzip blob inside the layout
  std::string digest;     // "sha256:…" of the blob
  uint64_t size = 0;      // blob bytes
  uint64_t tar_size = 0;  // uncompressed
};

struct Layout {
  std::string dir;
  std::string manifest_digest, config_digest;
  std::vector<LayerBlob> layers;
  uint64_t TotalBlobBytes() const;
};

// Writes an OCI image layout into `dir` (created).
Result<Layout> WriteRandomLayout(const std::string& dir, const LayoutSpec& spec);

}  // namespace berth::bench
