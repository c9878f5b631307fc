#include "common/json_reader.h"

namespace berth {

JsonObjectReader::JsonObjectReader(const nlohmann::json& object, std::string where)
    : object_(object), where_(std::move(where)) {
  if (!object_.is_object()) {
    error_ = InvalidArgument(where_ + ": expected a JSON object, got " +
                             std::string(object_.type_name()));
  }
}

std::string JsonObjectReader::PathOf(std::string_view key) const {
  return where_ + "." + std::string(key);
}

const nlohmann::json* JsonObjectReader::Find(std::string_view key) {
  if (!error_.ok()) return nullptr;
  read_.emplace(key);
  auto it = object_.find(std::string(key));
  return it == object_.end() ? nullptr : &*it;
}

void JsonObjectReader::Fail(std::string_view key, std::string_view expected,
                            const nlohmann::json& got) {
  if (!error_.ok()) return;
  error_ = InvalidArgument(PathOf(key) + ": expected " + std::string(expected) + ", got " +
                           std::string(got.type_name()));
}

void JsonObjectReader::Get(std::string_view key, std::string& out) {
  const nlohmann::json* v = Find(key);
  if (!v) return;
  if (!v->is_string()) return Fail(key, "a string", *v);
  out = v->get<std::string>();
}

void JsonObjectReader::Get(std::string_view key, bool& out) {
  const nlohmann::json* v = Find(key);
  if (!v) return;
  if (!v->is_boolean()) return Fail(key, "true or false", *v);
  out = v->get<bool>();
}

void JsonObjectReader::Get(std::string_view key, int64_t& out) {
  const nlohmann::json* v = Find(key);
  if (!v) return;
  if (!v->is_number_integer()) return Fail(key, "an integer", *v);
  out = v->get<int64_t>();
}

void JsonObjectReader::Get(std::string_view key, std::vector<std::string>& out) {
  const nlohmann::json* v = Find(key);
  if (!v) return;
  if (!v->is_array()) return Fail(key, "an array of strings", *v);
  std::vector<std::string> items;
  for (const auto& item : *v) {
    if (!item.is_string()) return Fail(key, "an array of strings", item);
    items.push_back(item.get<std::string>());
  }
  out = std::move(items);
}

void JsonObjectReader::GetObject(std::string_view key, nlohmann::json& out) {
  const nlohmann::json* v = Find(key);
  if (!v) return;
  if (!v->is_object()) return Fail(key, "an object", *v);
  out = *v;
}

Status JsonObjectReader::Finish() const {
  if (!error_.ok()) return error_;
  for (const auto& [key, value] : object_.items()) {
    if (!read_.contains(key)) return InvalidArgument(PathOf(key) + ": unknown key");
  }
  return OkStatus();
}

Result<nlohmann::json> ParseJson(std::string_view text, std::string_view what) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // e.what() carries "[json.exception.parse_error.101] parse error at line 3, column 5: …"
    std::string msg = e.what();
    if (auto pos = msg.find("] "); pos != std::string::npos) msg = msg.substr(pos + 2);
    return InvalidArgument(std::string(what) + ": invalid JSON: " + msg);
  }
}

}  // namespace berth
