#include "cri/plugin_host/plugin_host.h"

#include <map>
#include <set>
#include <utility>

#include "common/fs.h"
#include "cri/plugin_host/dependency_order.h"
#include "cri/plugin_host/plugin_discovery.h"

namespace berth {

PluginHost::PluginHost(Logger logger, nlohmann::json config, std::string root, std::string state)
    : logger_(std::move(logger)),
      config_(std::move(config)),
      root_(std::move(root)),
      state_(std::move(state)) {
  if (!config_.is_object()) {
    logger_.Error("plugin configuration is not a JSON object; ignored");
    config_ = nlohmann::json::object();
  }
}

PluginHost::~PluginHost() {
  // Explicit order: instances, dependents first; then the libraries that made them.
  for (auto it = creation_order_.rbegin(); it != creation_order_.rend(); ++it) {
    Entry& e = entries_[*it];
    logger_.Debug("destroying plugin", {{"type", e.record.type}, {"name", e.record.name}});
    e.handle.reset();
  }
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) it->library.reset();
}

void PluginHost::Reject(Entry& entry, std::string error) {
  entry.record.status = "error";
  entry.record.error = std::move(error);
  logger_.Error("plugin not loaded", {{"path", entry.record.path},
                                      {"name", entry.record.name},
                                      {"type", entry.record.type},
                                      {"error", entry.record.error}});
  entry.handle.reset();
  entry.library.reset();  // nothing of it was created: unload right away
}

void PluginHost::LoadAll(const std::vector<std::string>& dirs) {
  if (loaded_) {
    logger_.Error("PluginHost::LoadAll called twice; the second call is ignored");
    return;
  }
  loaded_ = true;

  std::map<std::string, size_t> by_key;  // "<type>/<name>" -> entry, first one wins
  for (const std::string& path : FindPluginFiles(dirs, logger_)) {
    Entry& e = entries_.emplace_back();
    e.record.path = path;
    auto lib = PluginLibrary::Open(path);
    if (!lib.ok()) {
      Reject(e, lib.status().message());
      continue;
    }
    e.record.type = (*lib)->type();
    e.record.name = (*lib)->name();
    e.record.version = (*lib)->version();
    e.record.requirements = (*lib)->requirements();
    auto [it, inserted] = by_key.emplace((*lib)->key(), entries_.size() - 1);
    if (!inserted) {
      Reject(e, "duplicate plugin " + it->first + ": already loaded from " +
                    entries_[it->second].record.path);
      continue;
    }
    e.library = std::move(*lib);
  }
  CreateInOrder();
  WarnAboutUnusedConfig();
}

void PluginHost::CreateInOrder() {
  std::vector<DependencyNode> nodes;
  std::vector<size_t> node_entry;  // node index -> entry index
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (!entries_[i].library) continue;
    nodes.push_back({entries_[i].library->key(), entries_[i].record.requirements});
    node_entry.push_back(i);
  }
  DependencyPlan plan = PlanDependencies(nodes);
  for (auto& [node, why] : plan.rejected) Reject(entries_[node_entry[node]], why);

  // A bare name in the plugins config that several plugins share (the native runtime and the
  // native snapshotter) cannot say whose configuration it is: those plugins are refused unless a
  // type-qualified key ("io.berth.runtime.v1/native") configures them.
  std::map<std::string, std::set<std::string>> types_by_name;
  for (const Entry& e : entries_) {
    if (!e.record.name.empty()) types_by_name[e.record.name].insert(e.record.type);
  }
  auto ambiguous = [&](const Entry& e) {
    return types_by_name[e.record.name].size() > 1 && config_.contains(e.record.name) &&
           !config_.contains(e.record.type + "/" + e.record.name);
  };

  std::map<std::string, const Entry*> created;  // key -> entry with a live instance
  for (size_t node : plan.order) {
    Entry& e = entries_[node_entry[node]];
    if (ambiguous(e)) {
      std::string types;
      for (const std::string& t : types_by_name[e.record.name])
        types += (types.empty() ? "" : " and ") + t + "/" + e.record.name;
      Reject(e, "the plugins configuration key \"" + e.record.name + "\" names " + types +
                    "; use the type-qualified key for each");
      continue;
    }
    std::string failed_requirement;
    for (const std::string& r : e.record.requirements) {
      if (!created.count(r)) {
        failed_requirement = r;
        break;
      }
    }
    if (!failed_requirement.empty()) {
      Reject(e, "requires " + failed_requirement + ", which could not be loaded");
      continue;
    }
    std::string config;
    try {
      config = ConfigFor(e.record.type, e.record.name);
    } catch (const nlohmann::json::exception& ex) {
      Reject(e, std::string("cannot encode its configuration: ") + ex.what());
      continue;
    }
    auto dirs = MakeDirsFor(e.record.type, e.record.name);
    if (!dirs.ok()) {
      Reject(e, dirs.status().message());
      continue;
    }
    Logger plugin_logger = logger_.With({{"plugin", e.record.name}, {"type", e.record.type}});
    auto handle = PluginHandle::Create(e.library, config, std::move(plugin_logger), &events_,
                                       std::move(*dirs));
    if (!handle.ok()) {
      Reject(e, handle.status().message());
      continue;
    }
    e.handle = std::move(*handle);
    e.record.status = "ok";
    created.emplace(e.library->key(), &e);
    creation_order_.push_back(node_entry[node]);
    logger_.Info("plugin loaded", {{"type", e.record.type},
                                   {"name", e.record.name},
                                   {"version", e.record.version},
                                   {"path", e.record.path}});
  }
}

Result<PluginHandle::Dirs> PluginHost::MakeDirsFor(const std::string& type,
                                                   const std::string& name) const {
  PluginHandle::Dirs dirs;
  // type and name were validated by PluginLibrary ([a-z0-9._-]), so they are safe path parts.
  if (!root_.empty()) dirs.root = root_ + "/plugins/" + type + "/" + name;
  if (!state_.empty()) dirs.state = state_ + "/plugins/" + type + "/" + name;
  for (const std::string* d : {&dirs.root, &dirs.state}) {
    if (!d->empty()) BERTH_RETURN_IF_ERROR(MakeDirs(*d, 0700).Wrap("plugin directory"));
  }
  return dirs;
}

std::string PluginHost::ConfigFor(const std::string& type, const std::string& name) {
  auto it = config_.find(type + "/" + name);
  if (it == config_.end()) it = config_.find(name);
  if (it == config_.end()) return "{}";
  return it->dump();
}

void PluginHost::WarnAboutUnusedConfig() const {
  for (const auto& [key, section] : config_.items()) {
    bool used = false;
    for (const Entry& e : entries_) {
      if (!e.record.name.empty() &&
          (key == e.record.name || key == e.record.type + "/" + e.record.name)) {
        used = true;
        break;
      }
    }
    if (!used) logger_.Warn("configuration for a plugin that is not installed", {{"plugin", key}});
  }
}

std::vector<PluginRecord> PluginHost::List() const {
  std::vector<PluginRecord> out;
  out.reserve(entries_.size());
  for (const Entry& e : entries_) out.push_back(e.record);
  return out;
}

PluginHandle* PluginHost::Find(std::string_view type, std::string_view name) const {
  for (const Entry& e : entries_) {
    if (e.handle && e.record.type == type && e.record.name == name) return e.handle.get();
  }
  return nullptr;
}

std::vector<PluginHandle*> PluginHost::FindAll(std::string_view type) const {
  std::vector<PluginHandle*> out;
  for (size_t i : creation_order_) {
    if (entries_[i].record.type == type) out.push_back(entries_[i].handle.get());
  }
  return out;
}

}  // namespace berth
