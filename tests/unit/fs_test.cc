#include "common/fs.h"

#include <sys/stat.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "tests/support/test_env.h"

namespace berth {
namespace {

size_t CountEntries(const std::string& dir) {
  size_t n = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

TEST(AtomicWriteFile, CreatesAndReplaces) {
  testing::TempDir dir;
  std::string path = dir / "state.json";
  ASSERT_TRUE(AtomicWriteFile(path, "one", 0600).ok());
  EXPECT_EQ(*ReadFile(path), "one");
  ASSERT_TRUE(AtomicWriteFile(path, "two, longer").ok());
  EXPECT_EQ(*ReadFile(path), "two, longer");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  EXPECT_EQ(CountEntries(dir.path()), 1u) << "temporary file left behind";
}

TEST(AtomicWriteFile, FailureLeavesNothingBehind) {
  testing::TempDir dir;
  std::string target = dir / "sub";
  std::filesystem::create_directory(target);  // rename onto a directory fails
  Status s = AtomicWriteFile(target, "data");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find(target), std::string::npos) << s.message();
  EXPECT_EQ(CountEntries(dir.path()), 1u) << "temporary file leaked";
}

TEST(AtomicWriteFile, MissingDirectoryIsNotFound) {
  testing::TempDir dir;
  Status s = AtomicWriteFile(dir / "no/such/file", "x");
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
}

TEST(ReadFile, MissingIsNotFound) {
  EXPECT_EQ(ReadFile("/nonexistent/berth").status().code(), StatusCode::kNotFound);
}

TEST(MakeDirs, CreatesParentsAndFixesMode) {
  testing::TempDir dir;
  std::string p = dir / "a/b/c";
  ASSERT_TRUE(MakeDirs(p, 0700).ok());
  ::chmod(p.c_str(), 0755);
  ASSERT_TRUE(MakeDirs(p, 0700).ok());
  struct stat st {};
  ASSERT_EQ(::stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

}  // namespace
}  // namespace berth
