#pragma once
// Shared helpers for berth's tests.

#include <string>

#include <gtest/gtest.h>

namespace berth::testing {

// True when running under CI (CI=true): there a test that cannot run must fail, not skip.
bool RunningInCi();

// The name tests import the pause image of scripts/make-test-images under (OUT/pause) and
// configure as berthd's "sandbox_image": pods sharing a PID namespace (the CRI default) run it.
inline constexpr char kTestPauseImage[] = "localhost/berth/pause:test";

// Empty when the process is root; otherwise why not.
std::string WhyNotRoot();

// A fresh directory under $TMPDIR (or /tmp), removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace berth::testing

// Use at the top of a test that needs root: skips outside CI, fails under CI=true.
#define BERTH_REQUIRE_ROOT()                                                                 \
  do {                                                                                       \
    std::string why_ = ::berth::testing::WhyNotRoot();                                       \
    if (!why_.empty()) {                                                                     \
      if (::berth::testing::RunningInCi()) FAIL() << "root test cannot run in CI: " << why_; \
      GTEST_SKIP() << why_;                                                                  \
    }                                                                                        \
  } while (0)
