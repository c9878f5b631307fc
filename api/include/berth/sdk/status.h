#pragma once
// berth::sdk::Status: what a plugin method returns. Codes are gRPC's (and the ABI's
// BERTH_STATUS_*), so berthd maps them 1:1 to the status its clients see. The message should
// say what went wrong in words a person can act on ("snapshot k1: already exists").
// A plain value; copyable; thread-compatible.

#include <string>
#include <utility>

#include "berth/plugin_abi.h"

namespace berth::sdk {

enum class Code : int {
  kOk = BERTH_STATUS_OK,
  kCancelled = BERTH_STATUS_CANCELLED,
  kUnknown = BERTH_STATUS_UNKNOWN,
  kInvalidArgument = BERTH_STATUS_INVALID_ARGUMENT,
  kDeadlineExceeded = BERTH_STATUS_DEADLINE_EXCEEDED,
  kNotFound = BERTH_STATUS_NOT_FOUND,
  kAlreadyExists = BERTH_STATUS_ALREADY_EXISTS,
  kPermissionDenied = BERTH_STATUS_PERMISSION_DENIED,
  kResourceExhausted = BERTH_STATUS_RESOURCE_EXHAUSTED,
  kFailedPrecondition = BERTH_STATUS_FAILED_PRECONDITION,
  kAborted = BERTH_STATUS_ABORTED,
  kOutOfRange = BERTH_STATUS_OUT_OF_RANGE,
  kUnimplemented = BERTH_STATUS_UNIMPLEMENTED,
  kInternal = BERTH_STATUS_INTERNAL,
  kUnavailable = BERTH_STATUS_UNAVAILABLE,
  kDataLoss = BERTH_STATUS_DATA_LOSS,
  kUnauthenticated = BERTH_STATUS_UNAUTHENTICATED,
};

class Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

inline Status OkStatus() { return Status(); }
inline Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
inline Status AlreadyExists(std::string m) { return {Code::kAlreadyExists, std::move(m)}; }
inline Status PermissionDenied(std::string m) { return {Code::kPermissionDenied, std::move(m)}; }
inline Status FailedPrecondition(std::string m) {
  return {Code::kFailedPrecondition, std::move(m)};
}
inline Status Unimplemented(std::string m) { return {Code::kUnimplemented, std::move(m)}; }
inline Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }
inline Status Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }

}  // namespace berth::sdk
