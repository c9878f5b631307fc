#pragma once
// berth::sdk::NetworkPlugin: base class of io.berth.network.v1 plugins. Override the methods
// you support; the others answer UNIMPLEMENTED. Messages and method semantics are in
// berth/plugin/v1/network.proto. Methods may be called concurrently (see PluginBase).

#include <string>
#include <string_view>

#include "berth/plugin/v1/network.pb.h"
#include "berth/sdk/plugin_base.h"

namespace berth::sdk {

class NetworkPlugin : public PluginBase {
 public:
  static constexpr const char* kPluginType = BERTH_PLUGIN_TYPE_NETWORK;

  virtual Status Setup(const plugin::v1::SetupNetworkRequest&, plugin::v1::SetupNetworkResponse*) {
    return internal::NotImplemented("Setup");
  }
  virtual Status Teardown(const plugin::v1::TeardownNetworkRequest&,
                          plugin::v1::TeardownNetworkResponse*) {
    return internal::NotImplemented("Teardown");
  }
  // rpc Status. Named GetStatus in C++ so that it does not hide the type sdk::Status inside
  // your class.
  virtual Status GetStatus(const plugin::v1::NetworkStatusRequest&,
                           plugin::v1::NetworkStatusResponse*) {
    return internal::NotImplemented("Status");
  }
  virtual Status GC(const plugin::v1::NetworkGCRequest&, plugin::v1::NetworkGCResponse*) {
    return internal::NotImplemented("GC");
  }

  Status Dispatch(std::string_view method, std::string_view request, std::string* response) final {
    using namespace ::berth::plugin::v1;  // NOLINT(google-build-using-namespace): route table
    BERTH_SDK_ROUTE(Setup, SetupNetworkRequest, SetupNetworkResponse)
    BERTH_SDK_ROUTE(Teardown, TeardownNetworkRequest, TeardownNetworkResponse)
    BERTH_SDK_ROUTE_AS("Status", GetStatus, NetworkStatusRequest, NetworkStatusResponse)
    BERTH_SDK_ROUTE(GC, NetworkGCRequest, NetworkGCResponse)
    return internal::UnknownMethod(kPluginType, method);
  }
};

}  // namespace berth::sdk
