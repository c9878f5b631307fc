#include "shim/options.h"

#include <cstdlib>
#include <string_view>

namespace berth::shim {

Result<ShimOptions> ParseOptions(int argc, char** argv) {
  ShimOptions o;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--foreground") {
      o.foreground = true;
      continue;
    }
    if (i + 1 >= argc) return InvalidArgument("flag " + std::string(arg) + " needs a value");
    std::string value = argv[++i];
    if (arg == "--id") {
      o.id = value;
    } else if (arg == "--bundle") {
      o.bundle = value;
    } else if (arg == "--state-dir") {
      o.state_dir = value;
    } else if (arg == "--log-path") {
      o.log_path = value;
    } else if (arg == "--stdin") {
      o.stdin_path = value;
    } else if (arg == "--runtime") {
      if (value != "native" && value != "oci") return InvalidArgument("bad --runtime " + value);
      o.runtime = value;
    } else if (arg == "--runtime-path") {
      o.runtime_path = value;
    } else if (arg == "--runtime-root") {
      o.runtime_root = value;
    } else if (arg == "--log-level") {
      o.log_level = value;
    } else if (arg == "--ready-fd") {
      char* end = nullptr;
      long fd = strtol(value.c_str(), &end, 10);
      if (*end != '\0' || fd < 3 || fd > 1 << 20) return InvalidArgument("bad --ready-fd " + value);
      o.ready_fd = static_cast<int>(fd);
    } else {
      return InvalidArgument("unknown flag " + std::string(arg));
    }
  }
  if (o.id.empty()) return InvalidArgument("--id is required");
  if (o.bundle.empty() || o.bundle[0] != '/') return InvalidArgument("--bundle must be absolute");
  if (o.state_dir.empty() || o.state_dir[0] != '/') {
    return InvalidArgument("--state-dir must be absolute");
  }
  if (o.runtime == "oci" && (o.runtime_path.empty() || o.runtime_path[0] != '/')) {
    return InvalidArgument("--runtime oci needs an absolute --runtime-path");
  }
  return o;
}

}  // namespace berth::shim
