#include "bench/support/bench_util.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace berth::bench {

Summary Summarize(std::vector<double> samples) {
  Summary s;
  s.runs = samples.size();
  if (samples.empty()) return s;
  std::sort(samples.begin(), samples.end());
  const size_t n = samples.size();
  s.median_ms = n % 2 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;
  s.min_ms = samples.front();
  s.max_ms = samples.back();
  return s;
}

std::string FormatSummary(const Summary& s) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "median %8.1f ms  (min %.1f, max %.1f; %zu runs)", s.median_ms,
                s.min_ms, s.max_ms, s.runs);
  return buf;
}

double Throughput(uint64_t bytes, double ms) {
  return ms > 0 ? static_cast<double>(bytes) / 1e6 / (ms / 1000.0) : 0;
}

int RunsFlag(int argc, char** argv, int fallback) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    std::string value;
    if ((a == "--runs" || a == "-n") && i + 1 < argc) {
      value = argv[++i];
    } else if (a.rfind("--runs=", 0) == 0) {
      value = std::string(a.substr(7));
    } else {
      std::fprintf(stderr, "usage: %s [--runs N]\n", argv[0]);
      std::exit(2);
    }
    int n = std::atoi(value.c_str());
    if (n < 1) {
      std::fprintf(stderr, "%s: --runs must be a positive number\n", argv[0]);
      std::exit(2);
    }
    return n;
  }
  return fallback;
}

double MillisSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

}  // namespace berth::bench
