#include "shim/code_trim.h"

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

namespace berth::shim {

void CodeTrimmer::Init() {
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n <= 0) return;
  exe[n] = '\0';
  FILE* f = fopen("/proc/self/smaps", "re");
  if (f == nullptr) return;
  char line[4352];
  bool candidate = false;
  unsigned long start = 0, end = 0;
  while (fgets(line, sizeof(line), f) != nullptr) {
    char perms[8] = {};
    unsigned long s, e;
    if (sscanf(line, "%lx-%lx %7s", &s, &e, perms) == 3 && strchr(line, '/') != nullptr) {
      std::string path = strchr(line, '/');
      while (!path.empty() && path.back() == '\n') path.pop_back();
      candidate = path == exe && strchr(perms, 'w') == nullptr;
      start = s;
      end = e;
    } else if (sscanf(line, "%lx-%lx %7s", &s, &e, perms) == 3) {
      candidate = false;
    } else if (candidate && strncmp(line, "Anonymous:", 10) == 0) {
      if (strtoul(line + 10, nullptr, 10) == 0) {
        ranges_.push_back({reinterpret_cast<void*>(start), end - start});
      }
      candidate = false;
    }
  }
  fclose(f);
  // No fault-around on these mappings: a fault then maps one page, not its 64 KiB (or large
  // folio) neighbourhood, so the few hot pages of the loop are all that stays resident.
  for (const Range& r : ranges_) madvise(r.start, r.len, MADV_RANDOM);
}

void CodeTrimmer::Trim() const {
  for (const Range& r : ranges_) madvise(r.start, r.len, MADV_DONTNEED);
  malloc_trim(0);
}

}  // namespace berth::shim
