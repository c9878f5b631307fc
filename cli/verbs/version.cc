#include "cli/verbs/version.h"

namespace berth::cli {
namespace {

// The CRI API version berthctl speaks; sent in VersionRequest.version as crictl does.
constexpr char kCriApiVersion[] = "v1";

Status RunVersion(Context& ctx) {
  ::runtime::v1::VersionRequest request;
  request.set_version(kCriApiVersion);
  auto& stub = ctx.connection.Runtime();
  auto response = ctx.connection.Call(stub, &::runtime::v1::RuntimeService::Stub::Version, request);
  if (!response.ok()) return response.status().Wrap("getting the runtime version");
  ctx.out << FormatVersion(*response);
  return OkStatus();
}

}  // namespace

std::string FormatVersion(const ::runtime::v1::VersionResponse& r) {
  return "Version:  " + r.version() + "\nRuntimeName:  " + r.runtime_name() +
         "\nRuntimeVersion:  " + r.runtime_version() +
         "\nRuntimeApiVersion:  " + r.runtime_api_version() + "\n";
}

void AddVersionCommands(CLI::App& root, CommandList& commands) {
  CLI::App* app = root.add_subcommand("version", "Display runtime version information");
  commands.push_back({app, RunVersion});
}

}  // namespace berth::cli
