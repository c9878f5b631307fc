#pragma once
// The berth plugin SDK in one include. See docs/plugins.md:
//
//   #include <berth/sdk/plugin.h>
//
//   class Hello final : public berth::sdk::NetworkPlugin {
//    public:
//     berth::sdk::Status GetStatus(const berth::plugin::v1::NetworkStatusRequest&,
//                                  berth::plugin::v1::NetworkStatusResponse* resp) override {
//       resp->set_ready(true);
//       return {};
//     }
//   };
//   BERTH_EXPORT_PLUGIN(Hello, "hello", "1.0.0")
//
// The SDK is header-only and depends on nothing but plugin_abi.h, the plugin protos generated
// into your build (berth_add_plugin does that) and the C++ standard library.

#include "berth/plugin_abi.h"
#include "berth/sdk/export.h"
#include "berth/sdk/host.h"
#include "berth/sdk/network.h"
#include "berth/sdk/plugin_base.h"
#include "berth/sdk/runtime.h"
#include "berth/sdk/snapshotter.h"
#include "berth/sdk/status.h"
