#pragma once
// Test helpers for the unpack tests: a recursive listing with metadata (to prove a sentinel
// tree is unchanged) and small file helpers.

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

namespace berth::testing {

// path → "type mode uid gid size mtime.ns [link target]" for everything under `dir`, skipping
// the subtree `exclude` (the unpack target) when it lies inside.
inline std::map<std::string, std::string> TreeSnapshot(const std::string& dir,
                                                       const std::string& exclude = "") {
  std::map<std::string, std::string> out;
  namespace fs = std::filesystem;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator();
       ++it) {
    std::string p = it->path().string();
    if (!exclude.empty() && p == exclude) {
      it.disable_recursion_pending();
      continue;
    }
    struct stat st {};
    lstat(p.c_str(), &st);
    std::ostringstream s;
    s << std::oct << st.st_mode << std::dec << " " << st.st_uid << ":" << st.st_gid << " "
      << st.st_size << " " << st.st_mtim.tv_sec << "." << st.st_mtim.tv_nsec;
    if (S_ISLNK(st.st_mode)) s << " -> " << fs::read_symlink(p).string();
    out[p] = s.str();
  }
  return out;
}

inline std::string Slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

inline void Spit(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary) << data;
}

}  // namespace berth::testing
