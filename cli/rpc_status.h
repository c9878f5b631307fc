#pragma once
// gRPC failures as crictl reports them: "rpc error: code = Unavailable desc = <message>".

#include <string_view>

#include <grpcpp/support/status.h>

#include "common/status.h"

namespace berth::cli {

// The code's name as grpc-go spells it ("Unavailable", "DeadlineExceeded", "Canceled"),
// which is what crictl users see and search for.
std::string_view GrpcCodeName(grpc::StatusCode code);

// A berth Status with the same code and the message "rpc error: code = <name> desc = <msg>".
// OK stays OK.
Status FromGrpcStatus(const grpc::Status& status);

}  // namespace berth::cli
