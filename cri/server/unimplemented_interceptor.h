#pragma once
// Gives every not-yet-built RPC an UNIMPLEMENTED answer that names it.
//
// The generated gRPC service bases answer methods nobody overrides with UNIMPLEMENTED and an
// empty message. Rather than override each of the ~50 CRI methods just to say "not yet", this
// server interceptor rewrites exactly that answer (UNIMPLEMENTED with an empty message) into
// "berth does not implement /runtime.v1.RuntimeService/ListPodSandbox yet". Anything a handler
// answered itself passes through untouched. Stateless; safe from every server thread.

#include <memory>

#include <grpcpp/support/server_interceptor.h>

namespace berth {

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeUnimplementedInterceptorFactory();

}  // namespace berth
