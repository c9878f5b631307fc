#include "common/status.h"

#include <cerrno>

#include <gtest/gtest.h>

namespace berth {
namespace {

TEST(Status, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "OK");
}

TEST(Status, CodesMirrorGrpcNumbers) {
  // The API edge casts these 1:1 to grpc::StatusCode; the numbers are the gRPC wire values.
  EXPECT_EQ(static_cast<int>(StatusCode::kInvalidArgument), 3);
  EXPECT_EQ(static_cast<int>(StatusCode::kNotFound), 5);
  EXPECT_EQ(static_cast<int>(StatusCode::kUnimplemented), 12);
  EXPECT_EQ(static_cast<int>(StatusCode::kUnauthenticated), 16);
  EXPECT_EQ(StatusCodeName(StatusCode::kFailedPrecondition), "FAILED_PRECONDITION");
  EXPECT_EQ(StatusCodeName(static_cast<StatusCode>(42)), "UNKNOWN_CODE(42)");
}

TEST(Status, WrapAddsContextAndKeepsCode) {
  Status s = NotFound("no such blob").Wrap("pull busybox").Wrap("PullImage");
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "PullImage: pull busybox: no such blob");
  EXPECT_TRUE(OkStatus().Wrap("context").ok());
}

TEST(Status, ErrnoMapping) {
  EXPECT_EQ(ErrnoStatus(ENOENT, "open x").code(), StatusCode::kNotFound);
  EXPECT_EQ(ErrnoStatus(EEXIST, "mkdir x").code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(ErrnoStatus(EACCES, "open x").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrnoStatus(EIO, "read x").code(), StatusCode::kInternal);
  EXPECT_EQ(ErrnoStatus(ENOENT, "open x").message(), "open x: No such file or directory");
}

Result<int> Half(int v) {
  if (v % 2) return InvalidArgument(std::to_string(v) + " is odd");
  return v / 2;
}

Status UsesMacro(int v, int* out) {
  BERTH_RETURN_IF_ERROR(Half(v).status());
  *out = *Half(v);
  return OkStatus();
}

TEST(Result, HoldsValueOrStatus) {
  auto good = Half(4);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 2);
  auto bad = Half(3);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "3 is odd");
}

TEST(Result, OkStatusIsNotAValue) {
  Result<int> r{OkStatus()};
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
}

TEST(Result, ReturnIfErrorPropagates) {
  int out = 0;
  EXPECT_TRUE(UsesMacro(8, &out).ok());
  EXPECT_EQ(out, 4);
  EXPECT_EQ(UsesMacro(5, &out).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace berth
