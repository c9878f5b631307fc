#include "plugins/runtime/native/native_runtime.h"

#include "berth/sdk/export.h"

BERTH_EXPORT_PLUGIN(berth::native_plugin::NativeRuntime, "native", "0.1.0")
