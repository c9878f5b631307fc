#include "cri/plugin_host/plugin_library.h"

#include <dlfcn.h>

#include <cstddef>
#include <string>

namespace berth {
namespace {

constexpr std::string_view kKnownTypes[] = {
    BERTH_PLUGIN_TYPE_RUNTIME,
    BERTH_PLUGIN_TYPE_SNAPSHOTTER,
    BERTH_PLUGIN_TYPE_NETWORK,
};

std::string KnownTypesList() {
  std::string out;
  for (std::string_view t : kKnownTypes) {
    if (!out.empty()) out += ", ";
    out += t;
  }
  return out;
}

// [a-z0-9][a-z0-9._-]*: names appear in config keys, file names and log fields.
bool IsValidName(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-'))) return false;
  }
  return true;
}

// "<known type>/<valid name>".
bool IsValidRequirement(std::string_view req) {
  size_t slash = req.rfind('/');
  return slash != std::string_view::npos && IsKnownPluginType(req.substr(0, slash)) &&
         IsValidName(req.substr(slash + 1));
}

}  // namespace

bool IsKnownPluginType(std::string_view type) {
  for (std::string_view t : kKnownTypes) {
    if (t == type) return true;
  }
  return false;
}

Result<std::shared_ptr<PluginLibrary>> PluginLibrary::Open(const std::string& path) {
  std::shared_ptr<PluginLibrary> lib(new PluginLibrary());
  lib->path_ = path;

  boost::dll::fs::error_code ec;
  lib->library_.load(path, boost::dll::load_mode::rtld_local | boost::dll::load_mode::rtld_now, ec);
  if (ec || !lib->library_.is_loaded()) {
    // Boost reports a generic errno; dlerror() still holds the loader's words.
    const char* why = ::dlerror();
    return Unavailable("cannot load library: " + std::string(why ? why : ec.message()));
  }
  if (!lib->library_.has(BERTH_PLUGIN_ENTRY_SYMBOL)) {
    return FailedPrecondition("not a berth plugin: no exported " BERTH_PLUGIN_ENTRY_SYMBOL
                              " symbol (define it with BERTH_EXPORT_PLUGIN, see docs/plugins.md)");
  }
  auto& entry = lib->library_.get<const berth_plugin_descriptor*()>(BERTH_PLUGIN_ENTRY_SYMBOL);
  const berth_plugin_descriptor* d = entry();
  if (d == nullptr) return InvalidArgument(BERTH_PLUGIN_ENTRY_SYMBOL " returned NULL");
  BERTH_RETURN_IF_ERROR(lib->ReadDescriptor(*d));
  return lib;
}

Status PluginLibrary::ReadDescriptor(const berth_plugin_descriptor& d) {
  // abi_version and struct_size are the first two fields in every ABI version; nothing else
  // may be read before both are checked.
  if (d.abi_version != BERTH_PLUGIN_ABI_VERSION) {
    return FailedPrecondition("plugin ABI version " + std::to_string(d.abi_version) +
                              " is not supported (berthd speaks version " +
                              std::to_string(BERTH_PLUGIN_ABI_VERSION) + ")");
  }
  if (d.struct_size < BERTH_PLUGIN_DESCRIPTOR_V1_SIZE) {
    return InvalidArgument("descriptor struct_size " + std::to_string(d.struct_size) +
                           " is smaller than ABI version 1's " +
                           std::to_string(BERTH_PLUGIN_DESCRIPTOR_V1_SIZE));
  }
  if (d.type == nullptr || !IsKnownPluginType(d.type)) {
    return InvalidArgument("unknown plugin type \"" + std::string(d.type ? d.type : "") +
                           "\" (known: " + KnownTypesList() + ")");
  }
  type_ = d.type;
  if (d.name == nullptr || !IsValidName(d.name)) {
    return InvalidArgument("invalid plugin name \"" + std::string(d.name ? d.name : "") +
                           "\" (want [a-z0-9][a-z0-9._-]*)");
  }
  name_ = d.name;
  version_ = d.version ? d.version : "";
  for (const char* const* r = d.requires_list; r != nullptr && *r != nullptr; ++r) {
    if (!IsValidRequirement(*r)) {
      return InvalidArgument("invalid requirement \"" + std::string(*r) +
                             "\" (want <known type>/<name>, e.g. io.berth.runtime.v1/native)");
    }
    requirements_.emplace_back(*r);
  }
  flags_ = d.flags;

  const berth_plugin_vtable* v = d.vtable;
  if (v == nullptr) return InvalidArgument("descriptor has no vtable");
  if (v->struct_size < BERTH_PLUGIN_VTABLE_V1_SIZE) {
    return InvalidArgument("vtable struct_size " + std::to_string(v->struct_size) +
                           " is smaller than ABI version 1's " +
                           std::to_string(BERTH_PLUGIN_VTABLE_V1_SIZE));
  }
  if (!v->create || !v->destroy || !v->invoke || !v->free_buffer) {
    return InvalidArgument("vtable has a NULL function");
  }
  vtable_ = v;
  return OkStatus();
}

PluginLibrary::~PluginLibrary() = default;  // boost::dll::shared_library unloads

}  // namespace berth
