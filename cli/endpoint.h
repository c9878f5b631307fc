#pragma once
// CRI endpoints as crictl users write them, and the gRPC targets they mean.

#include <string>
#include <string_view>

#include "common/status.h"

namespace berth::cli {

// Maps an endpoint to a gRPC channel target:
//   unix:///abs/path, unix:path, unix-abstract:name   kept (gRPC's own unix forms)
//   /abs/path                                         unix:///abs/path (as crictl allows)
//   ./rel, ../rel, rel/path (a '/' and no ':')         unix:rel... (a relative socket path)
//   tcp://host:port                                   host:port (the form kubelet once took)
//   dns:…, ipv4:…, ipv6:…, vsock:…, host:port         passed through to gRPC's resolvers
// INVALID_ARGUMENT for an empty endpoint and for any other "scheme://" (e.g. http://), which
// gRPC would otherwise try to resolve as a host name and fail confusingly.
Result<std::string> EndpointToTarget(std::string_view endpoint);

}  // namespace berth::cli
