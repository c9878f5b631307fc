#pragma once
// The API edge: berth::Status → grpc::Status. Codes are numerically identical by design
// (common/status.h), so this is a cast plus the message.

#include <grpcpp/support/status.h>

#include "common/status.h"

namespace berth {

inline grpc::Status ToGrpcStatus(const Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), s.message());
}

}  // namespace berth
