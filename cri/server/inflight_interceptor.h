#pragma once
// Counts the RPCs berthd is serving right now, so that shutdown can tell "calls still
// running" (they deserve a grace period) from "clients merely connected" (kubelet keeps its
// channel open for ever; gRPC's Shutdown(deadline) would wait the whole deadline for it).
//
// The factory creates one interceptor per call; it counts from its construction to its
// destruction, which bracket the call. Thread-safe; the counter must outlive the server.

#include <atomic>
#include <cstdint>
#include <memory>

#include <grpcpp/support/server_interceptor.h>

namespace berth {

class InFlightCalls {
 public:
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> MakeFactory();
  int64_t count() const { return count_.load(); }

 private:
  friend class InFlightInterceptor;
  std::atomic<int64_t> count_{0};
};

}  // namespace berth
