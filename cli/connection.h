#pragma once
// berthctl's side of gRPC: channels to the runtime and image endpoints, created on first use,
// and Call(), through which every RPC goes so that each carries the --timeout deadline and
// shows up in --debug traces.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include "api/cri.h"
#include "cli/debug_log.h"
#include "cli/options.h"
#include "cli/output/format.h"
#include "cli/rpc_status.h"
#include "images.grpc.pb.h"
#include "introspection.grpc.pb.h"

namespace berth::cli {

class Connection {
 public:
  // `options` must outlive the connection. Nothing is dialled until a stub is first used.
  Connection(const Options& options, DebugLog debug);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  ::runtime::v1::RuntimeService::Stub& Runtime();
  ::runtime::v1::ImageService::Stub& Image();
  // berth's own service, served next to CRI on the runtime endpoint.
  ::berth::v1::Introspection::Stub& Introspection();
  // berth's image service (import, pull progress), served next to CRI on the image endpoint.
  ::berth::v1::Images::Stub& Images();

  // Calls one unary RPC with a deadline of options.timeout from now. Fails fast (no
  // wait-for-ready): a socket that is absent or refuses connections is reported at once as
  // Unavailable instead of after the whole timeout. Errors read
  // "rpc error: code = <Name> desc = <message>"; the caller adds what it was doing.
  template <typename Stub, typename Request, typename Response>
  Result<Response> Call(Stub& stub,
                        grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                                     Response*),
                        const Request& request) {
    return CallWithin(options_.timeout, stub, method, request);
  }

  // Call() with its own deadline instead of --timeout; nullopt: none (crictl pulls without a
  // deadline unless --pull-timeout is given).
  template <typename Stub, typename Request, typename Response>
  Result<Response> CallWithin(std::optional<std::chrono::nanoseconds> timeout, Stub& stub,
                              grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                                           Response*),
                              const Request& request) {
    grpc::ClientContext context;
    if (timeout) {
      context.set_deadline(
          std::chrono::system_clock::now() +
          std::chrono::duration_cast<std::chrono::system_clock::duration>(*timeout));
    }
    if (debug_.enabled()) Trace(request, nullptr);
    Response response;
    grpc::Status status = (stub.*method)(&context, request, &response);
    Status error = FromGrpcStatus(status);
    if (debug_.enabled()) Trace(response, &error);
    if (!error.ok()) return error;
    return response;
  }

  // --debug trace of one message: "<MessageName>: <json>", or the error instead of the
  // message when `error` is not OK. For calls made outside Call() (streams).
  void Trace(const google::protobuf::Message& message, const Status* error) const;

 private:
  std::shared_ptr<grpc::Channel> ChannelFor(const std::string& target);

  const Options& options_;
  DebugLog debug_;
  std::map<std::string, std::shared_ptr<grpc::Channel>> channels_;  // by target
  std::unique_ptr<::runtime::v1::RuntimeService::Stub> runtime_;
  std::unique_ptr<::runtime::v1::ImageService::Stub> image_;
  std::unique_ptr<::berth::v1::Introspection::Stub> introspection_;
  std::unique_ptr<::berth::v1::Images::Stub> images_;
};

}  // namespace berth::cli
