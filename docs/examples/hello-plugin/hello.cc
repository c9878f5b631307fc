// "hello": the smallest useful berth plugin. A network plugin (io.berth.network.v1) that
// reports itself ready with a greeting, and logs the pods it is asked to connect.
// It does no networking at all: it shows the SDK, not how to build a CNI.

#include <atomic>
#include <string>

#include <berth/sdk/plugin.h>

#ifndef HELLO_VERSION
#define HELLO_VERSION "0.0.0"  // CMakeLists.txt passes the project version
#endif

namespace {

namespace v1 = berth::plugin::v1;
using berth::sdk::Status;

class Hello final : public berth::sdk::NetworkPlugin {
 public:
  // Called once, with this plugin's section of berthd's config ("plugins": {"hello": {...}})
  // as JSON text. A real plugin parses it with a JSON library and rejects unknown keys.
  Status Init(std::string_view config_json) override {
    host().Info("hello plugin starting with config " + std::string(config_json));
    return {};
  }

  // rpc Status (GetStatus in C++, so as not to hide the type berth::sdk::Status).
  Status GetStatus(const v1::NetworkStatusRequest&, v1::NetworkStatusResponse* resp) override {
    resp->set_ready(true);
    resp->set_message("hello from an out-of-tree berth plugin (" + std::to_string(setups_.load()) +
                      " pods so far)");
    return {};
  }

  // May run on several threads at once: state is atomic.
  Status Setup(const v1::SetupNetworkRequest& req, v1::SetupNetworkResponse*) override {
    if (req.pod().pod_id().empty()) return berth::sdk::InvalidArgument("pod.pod_id is empty");
    setups_.fetch_add(1);
    host().Info("hello, pod " + req.pod().name());
    return {};
  }

  Status Teardown(const v1::TeardownNetworkRequest&, v1::TeardownNetworkResponse*) override {
    return {};  // nothing to undo; teardown must be idempotent anyway
  }

 private:
  std::atomic<int> setups_{0};
};

}  // namespace

BERTH_EXPORT_PLUGIN(Hello, "hello", HELLO_VERSION)
