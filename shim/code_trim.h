#pragma once
// CodeTrimmer: keeps the shim's resident set small (≤ 2 MiB RSS per shim, see CMakeLists.txt).
//
// Most of the shim's code runs once (spec parsing, container setup, seccomp), yet its pages
// stay mapped, and fault-around maps neighbours too. Trim() drops the page-table entries of
// the executable's read-only, never-written mappings (MADV_DONTNEED on a private file mapping
// without anonymous pages only unmaps: the next access maps the same page-cache page again),
// and returns free heap to the kernel. Mappings that hold written pages (relro after
// relocation, .data) are never touched. Single-threaded; errors are ignored (it is an
// optimisation).

#include <cstddef>
#include <vector>

namespace berth::shim {

class CodeTrimmer {
 public:
  // Reads /proc/self/smaps once to find the mappings that are safe to drop.
  void Init();
  void Trim() const;

 private:
  struct Range {
    void* start;
    size_t len;
  };
  std::vector<Range> ranges_;
};

}  // namespace berth::shim
