#include "cri/network/network_client.h"

namespace berth {

using namespace ::berth::plugin::v1;  // NOLINT(google-build-using-namespace): message names

Result<SetupNetworkResponse> NetworkClient::Setup(const SetupNetworkRequest& req) const {
  SetupNetworkResponse resp;
  BERTH_RETURN_IF_ERROR(handle_->Invoke("Setup", req, &resp));
  return resp;
}

Status NetworkClient::Teardown(const TeardownNetworkRequest& req) const {
  TeardownNetworkResponse resp;
  return handle_->Invoke("Teardown", req, &resp);
}

Result<NetworkStatusResponse> NetworkClient::GetStatus() const {
  NetworkStatusResponse resp;
  BERTH_RETURN_IF_ERROR(handle_->Invoke("Status", NetworkStatusRequest(), &resp));
  return resp;
}

Result<std::vector<std::string>> NetworkClient::GC(
    const std::vector<std::string>& valid_pod_ids) const {
  NetworkGCRequest req;
  for (const auto& id : valid_pod_ids) req.add_valid_pod_ids(id);
  NetworkGCResponse resp;
  BERTH_RETURN_IF_ERROR(handle_->Invoke("GC", req, &resp));
  return std::vector<std::string>(resp.removed_pod_ids().begin(), resp.removed_pod_ids().end());
}

}  // namespace berth
