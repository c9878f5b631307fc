#pragma once
// What every berth benchmark needs: repeated timings summarised as median/min/max, a flag or
// two, and one way to print a result line. Benchmarks print; they never fail on time.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace berth::bench {

struct Summary {
  double median_ms = 0, min_ms = 0, max_ms = 0;
  size_t runs = 0;
};

Summary Summarize(std::vector<double> samples_ms);

// "median 123.4 ms  (min 120.1, max 130.9; 5 runs)"
std::string FormatSummary(const Summary& s);

// MB/s (decimal megabytes) of `bytes` over `ms`.
double Throughput(uint64_t bytes, double ms);

// --runs N (or -n N) from argv; `fallback` when absent. Exits with a usage line on a bad value.
int RunsFlag(int argc, char** argv, int fallback);

// Milliseconds since `start`.
double MillisSince(std::chrono::steady_clock::time_point start);

}  // namespace berth::bench
