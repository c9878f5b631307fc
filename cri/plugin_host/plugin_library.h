#pragma once
// PluginLibrary: one plugin shared library, loaded and checked against the C ABI
// (berth/plugin_abi.h), before any instance of it exists.
//
// Open() dlopen()s the file with RTLD_LOCAL | RTLD_NOW (so a plugin never binds to another
// plugin's symbols, and an unresolved symbol fails here, not in the middle of a call), calls
// its entry function and validates the descriptor: ABI version, struct sizes, type, name,
// requirements, vtable. The descriptor's strings are copied; the vtable is used in place and
// stays valid exactly as long as this object: the destructor unloads the library, so whoever
// holds an instance made by the vtable must hold a shared_ptr to its PluginLibrary too.
//
// Thread-safety: immutable after Open(); all accessors are safe from any thread.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/dll/shared_library.hpp>

#include "berth/plugin_abi.h"
#include "common/status.h"

namespace berth {

// The plugin types this berthd knows (BERTH_PLUGIN_TYPE_*).
bool IsKnownPluginType(std::string_view type);

class PluginLibrary {
 public:
  // Errors (all with a message saying what is wrong and, where it helps, what was expected):
  // UNAVAILABLE when the file cannot be loaded (dlopen's own words), FAILED_PRECONDITION when it
  // is not a plugin or speaks another ABI version, INVALID_ARGUMENT for a malformed descriptor.
  static Result<std::shared_ptr<PluginLibrary>> Open(const std::string& path);

  PluginLibrary(const PluginLibrary&) = delete;
  PluginLibrary& operator=(const PluginLibrary&) = delete;
  ~PluginLibrary();  // dlclose()

  const std::string& path() const { return path_; }
  const std::string& type() const { return type_; }
  const std::string& name() const { return name_; }
  const std::string& version() const { return version_; }
  // "<type>/<name>" of each plugin that must be created before this one.
  const std::vector<std::string>& requirements() const { return requirements_; }
  uint64_t flags() const { return flags_; }
  // "<type>/<name>".
  std::string key() const { return type_ + "/" + name_; }

  // Valid, with every v1 function non-null, while this object lives.
  const berth_plugin_vtable& vtable() const { return *vtable_; }

 private:
  PluginLibrary() = default;
  Status ReadDescriptor(const berth_plugin_descriptor& d);

  boost::dll::shared_library library_;
  std::string path_;
  std::string type_;
  std::string name_;
  std::string version_;
  std::vector<std::string> requirements_;
  uint64_t flags_ = 0;
  const berth_plugin_vtable* vtable_ = nullptr;
};

}  // namespace berth
