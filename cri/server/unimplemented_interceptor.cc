#include "cri/server/unimplemented_interceptor.h"

#include <string>

namespace berth {
namespace {

class UnimplementedInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit UnimplementedInterceptor(std::string method) : method_(std::move(method)) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      grpc::Status status = methods->GetSendStatus();
      if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED &&
          status.error_message().empty()) {
        methods->ModifySendStatus(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                                               "berth does not implement " + method_ + " yet"));
      }
    }
    methods->Proceed();
  }

 private:
  std::string method_;
};

class Factory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new UnimplementedInterceptor(info->method() ? info->method() : "this method");
  }
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeUnimplementedInterceptorFactory() {
  return std::make_unique<Factory>();
}

}  // namespace berth
