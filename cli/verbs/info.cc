#include "cli/verbs/info.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <google/protobuf/util/json_util.h>

#include "cli/output/format.h"

namespace berth::cli {
namespace {

using nlohmann::json;

struct InfoFlags {
  std::string output = "json";
  bool quiet = false;
};

// A field of `message` by proto name, rendered like Go's encoding/json does for the generated
// struct (proto names, empty values omitted); nullopt when this API version lacks the field or
// it is unset/empty, which crictl leaves out as well.
Result<std::optional<json>> OptionalField(const google::protobuf::Message& message,
                                          const std::string& name) {
  const auto* field = message.GetDescriptor()->FindFieldByName(name);
  if (field == nullptr) return std::optional<json>();
  const auto* reflection = message.GetReflection();
  if (field->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) {
    return std::optional<json>();
  }
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  auto render = [&](const google::protobuf::Message& m) -> Result<json> {
    std::string text;
    if (!google::protobuf::util::MessageToJsonString(m, &text, options).ok()) {
      return Internal("render " + name + " as JSON");
    }
    return json::parse(text, nullptr, false);
  };
  if (field->is_repeated()) {
    int n = reflection->FieldSize(message, field);
    if (n == 0) return std::optional<json>();
    json list = json::array();
    for (int i = 0; i < n; ++i) {
      auto item = render(reflection->GetRepeatedMessage(message, field, i));
      if (!item.ok()) return item.status();
      list.push_back(std::move(*item));
    }
    return std::optional<json>(std::move(list));
  }
  if (!reflection->HasField(message, field)) return std::optional<json>();
  auto value = render(reflection->GetMessage(message, field));
  if (!value.ok()) return value.status();
  return std::optional<json>(std::move(*value));
}

Status RunInfo(Context& ctx, const InfoFlags& flags) {
  auto format = ParseOutputFormat(flags.output, {OutputFormat::kJson, OutputFormat::kYaml});
  if (!format.ok()) return format.status();

  ::runtime::v1::StatusRequest request;
  request.set_verbose(!flags.quiet);
  auto& stub = ctx.connection.Runtime();
  auto response = ctx.connection.Call(stub, &::runtime::v1::RuntimeService::Stub::Status, request);
  if (!response.ok()) return response.status().Wrap("getting status of runtime");

  auto info = InfoJson(*response);
  if (!info.ok()) return info.status().Wrap("getting status of runtime");
  ctx.out << FormatStructured(*info, *format);
  return OkStatus();
}

}  // namespace

Result<json> InfoJson(const ::runtime::v1::StatusResponse& response) {
  json out = json::object();
  // Present even when the runtime sent none (crictl prints {} then; this prints the empty
  // status, {"conditions": []}, which says the same with the shape kept).
  auto status = MessageToJson(response.status());
  if (!status.ok()) return status.status();
  out["status"] = std::move(*status);
  for (const auto& [field, key] :
       {std::pair<std::string, std::string>{"runtime_handlers", "runtimeHandlers"},
        {"features", "features"}}) {
    auto value = OptionalField(response, field);
    if (!value.ok()) return value.status();
    if (*value) out[key] = std::move(**value);
  }
  for (const auto& [key, value] : response.info()) {
    json parsed = json::parse(value, nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_discarded()) {
      out[key] = std::move(parsed);
      continue;
    }
    std::string_view s = value;
    while (!s.empty() && s.front() == '"') s.remove_prefix(1);
    while (!s.empty() && s.back() == '"') s.remove_suffix(1);
    out[key] = std::string(s);
  }
  return out;
}

void AddInfoCommands(CLI::App& root, CommandList& commands) {
  auto flags = std::make_shared<InfoFlags>();
  CLI::App* app = root.add_subcommand("info", "Display information of the container runtime");
  app->add_option("-o,--output", flags->output, "Output format, one of: json, yaml")
      ->capture_default_str();
  app->add_flag("-q,--quiet", flags->quiet, "Do not show verbose information");
  commands.push_back({app, [flags](Context& ctx) { return RunInfo(ctx, *flags); }});
}

}  // namespace berth::cli
