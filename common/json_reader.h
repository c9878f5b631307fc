#pragma once
// Typed reading of a JSON object that remembers which keys were read, so that configuration
// files can reject every key nobody asked for ("unknown keys are errors").
//
//   JsonObjectReader r(doc, "config");
//   r.Get("root", cfg.root);
//   r.Get("plugin_dirs", cfg.plugin_dirs);
//   BERTH_RETURN_IF_ERROR(r.Finish());
//
// Absent keys leave the output untouched (every key is optional; defaults live in the caller's
// struct). Errors name the full key path ("config.plugins.cni.bin_dirs: expected an array of
// strings, got number"). The first error wins; Finish() returns it, else the first unknown key.
// Not thread-safe; borrows `object`, which must outlive the reader.

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace berth {

class JsonObjectReader {
 public:
  JsonObjectReader(const nlohmann::json& object, std::string where);

  void Get(std::string_view key, std::string& out);
  void Get(std::string_view key, bool& out);
  void Get(std::string_view key, int64_t& out);
  void Get(std::string_view key, std::vector<std::string>& out);
  // Any JSON object, unparsed (e.g. a plugin's own section, handed to the plugin).
  void GetObject(std::string_view key, nlohmann::json& out);

  // The key path used in messages for `key` ("config.root").
  std::string PathOf(std::string_view key) const;

  Status Finish() const;

 private:
  const nlohmann::json* Find(std::string_view key);
  void Fail(std::string_view key, std::string_view expected, const nlohmann::json& got);

  const nlohmann::json& object_;
  std::string where_;
  std::set<std::string, std::less<>> read_;
  Status error_;
};

// Parses JSON text; INVALID_ARGUMENT naming `what` and the parser's position on bad syntax.
Result<nlohmann::json> ParseJson(std::string_view text, std::string_view what);

}  // namespace berth
