#include "cri/server/inflight_interceptor.h"

namespace berth {

class InFlightInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit InFlightInterceptor(InFlightCalls& calls) : calls_(calls) { ++calls_.count_; }
  ~InFlightInterceptor() override { --calls_.count_; }
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    methods->Proceed();
  }

 private:
  InFlightCalls& calls_;
};

namespace {

class Factory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit Factory(InFlightCalls& calls) : calls_(calls) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo*) override {
    return new InFlightInterceptor(calls_);
  }

 private:
  InFlightCalls& calls_;
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
InFlightCalls::MakeFactory() {
  return std::make_unique<Factory>(*this);
}

}  // namespace berth
