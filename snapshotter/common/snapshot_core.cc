#include "snapshotter/common/snapshot_core.h"

#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>

#include <cerrno>
#include <set>
#include <utility>

#include "common/fs.h"

namespace berth::snapshotter {
namespace {

Result<std::vector<std::string>> Names(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return ErrnoStatus(errno, "opendir " + dir);
  std::vector<std::string> out;
  while (struct dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(std::move(n));
  }
  ::closedir(d);
  return out;
}

}  // namespace

SnapshotCore::SnapshotCore(std::string root)
    : root_(std::move(root)), store_(root_ + "/metadata.json") {}

std::string SnapshotCore::SnapshotDir(uint64_t id) const {
  return root_ + "/snapshots/" + std::to_string(id);
}

Result<std::unique_ptr<SnapshotCore>> SnapshotCore::Open(const std::string& root,
                                                         std::vector<std::string>* removed) {
  if (root.empty() || root[0] != '/')
    return InvalidArgument("root \"" + root + "\" is not absolute");
  std::unique_ptr<SnapshotCore> core(new SnapshotCore(root));
  for (const char* sub : {"", "/snapshots", "/tmp"}) {
    BERTH_RETURN_IF_ERROR(MakeDirs(root + sub, 0700));
  }
  BERTH_RETURN_IF_ERROR(core->store_.Load());
  BERTH_RETURN_IF_ERROR(core->CleanLeftovers(removed));
  return core;
}

Status SnapshotCore::CleanLeftovers(std::vector<std::string>* removed) {
  std::set<std::string> live;
  for (const auto& [name, r] : store_.records()) live.insert(std::to_string(r.id));
  std::vector<std::string> doomed;
  Result<std::vector<std::string>> tmp = Names(root_ + "/tmp");
  if (!tmp.ok()) return tmp.status();
  for (const std::string& n : *tmp) doomed.push_back(root_ + "/tmp/" + n);
  Result<std::vector<std::string>> snaps = Names(root_ + "/snapshots");
  if (!snaps.ok()) return snaps.status();
  for (const std::string& n : *snaps) {
    if (!live.count(n)) doomed.push_back(root_ + "/snapshots/" + n);
  }
  Result<std::vector<std::string>> top = Names(root_);
  if (!top.ok()) return top.status();
  for (const std::string& n : *top) {  // AtomicWriteFile's temporary files
    if (n.rfind(".metadata.json.tmp-", 0) == 0) doomed.push_back(root_ + "/" + n);
  }
  for (const std::string& path : doomed) {
    BERTH_RETURN_IF_ERROR(RemoveTree(path).Wrap("remove leftover"));
    if (removed != nullptr) removed->push_back(path);
  }
  return OkStatus();
}

bool SnapshotCore::TakenLocked(const std::string& name) const {
  return store_.records().count(name) != 0 || creating_.count(name) != 0;
}

Result<SnapshotChain> SnapshotCore::ChainLocked(const SnapshotRecord& record) const {
  SnapshotChain chain{record, {}};
  std::set<std::string> seen{record.name};
  for (std::string p = record.parent; !p.empty();) {
    auto it = store_.records().find(p);
    if (it == store_.records().end()) {
      return Internal("snapshot " + record.name + ": ancestor " + p + " is missing");
    }
    if (!seen.insert(p).second) return Internal("snapshot " + record.name + ": parent cycle");
    chain.parent_ids.push_back(it->second.id);
    p = it->second.parent;
  }
  return chain;
}

Result<SnapshotChain> SnapshotCore::Create(Kind kind, const std::string& key,
                                           const std::string& parent,
                                           const std::map<std::string, std::string>& labels,
                                           const Check& check, const Populate& populate) {
  if (key.empty()) return InvalidArgument("snapshot key is empty");
  SnapshotChain chain;
  {
    std::lock_guard lock(mu_);
    if (TakenLocked(key)) return AlreadyExists("snapshot " + key + ": already exists");
    if (!parent.empty()) {
      auto it = store_.records().find(parent);
      if (it == store_.records().end() || it->second.kind != Kind::kCommitted) {
        return NotFound("parent snapshot " + parent + ": not found (no committed snapshot)");
      }
    }
    SnapshotRecord r;
    r.name = key;
    r.parent = parent;
    r.kind = kind;
    r.labels = labels;
    r.created_ns = r.updated_ns = NowUnixNanos();
    Result<SnapshotChain> c = ChainLocked(r);
    if (!c.ok()) return c.status();
    chain = std::move(*c);
    if (check) BERTH_RETURN_IF_ERROR(check(chain));  // before an id is taken
    chain.record.id = store_.AllocateId();
    creating_.emplace(key, parent);  // reserves the key and pins the parent
  }

  // Slow part, unlocked: build under tmp/, then move into place.
  std::string tmp = root_ + "/tmp/" + std::to_string(chain.record.id);
  std::string dir = SnapshotDir(chain.record.id);
  Status s;
  if (::mkdir(tmp.c_str(), 0700) != 0) {
    s = ErrnoStatus(errno, "mkdir " + tmp);
  } else {
    s = populate(tmp, chain);
    if (s.ok() && ::rename(tmp.c_str(), dir.c_str()) != 0) {
      s = ErrnoStatus(errno, "rename " + tmp + " to " + dir);
    }
  }

  std::lock_guard lock(mu_);
  creating_.erase(key);
  if (s.ok()) {
    store_.records()[key] = chain.record;
    s = store_.Save();
    if (!s.ok()) store_.records().erase(key);
  }
  if (!s.ok()) {
    (void)RemoveTree(tmp);
    (void)RemoveTree(dir);
    return s.Wrap("snapshot " + key);
  }
  return chain;
}

Status SnapshotCore::Commit(const std::string& name, const std::string& key,
                            const std::map<std::string, std::string>& labels) {
  if (key.empty()) return InvalidArgument("snapshot key is empty");
  if (name.empty()) return InvalidArgument("commit of " + key + ": name is empty");
  std::lock_guard lock(mu_);
  auto it = store_.records().find(key);
  if (it == store_.records().end()) return NotFound("snapshot " + key + ": not found");
  if (it->second.kind != Kind::kActive) {
    return FailedPrecondition("snapshot " + key + ": only an active snapshot can be committed");
  }
  if (TakenLocked(name)) return AlreadyExists("snapshot " + name + ": already exists");
  SnapshotRecord old = it->second;
  SnapshotRecord r = old;
  r.name = name;
  r.kind = Kind::kCommitted;
  r.labels = labels;
  r.updated_ns = NowUnixNanos();
  store_.records().erase(it);
  store_.records()[name] = r;
  Status s = store_.Save();
  if (!s.ok()) {
    store_.records().erase(name);
    store_.records()[key] = old;
    return s.Wrap("commit " + key + " as " + name);
  }
  return OkStatus();
}

Status SnapshotCore::Remove(const std::string& key) {
  if (key.empty()) return InvalidArgument("snapshot key is empty");
  SnapshotRecord old;
  {
    std::lock_guard lock(mu_);
    auto it = store_.records().find(key);
    if (it == store_.records().end()) return NotFound("snapshot " + key + ": not found");
    for (const auto& [name, r] : store_.records()) {
      if (r.parent == key) {
        return FailedPrecondition("snapshot " + key + ": has children (e.g. " + name + ")");
      }
    }
    for (const auto& [child, parent] : creating_) {
      if (parent == key) {
        return FailedPrecondition("snapshot " + key + ": child " + child + " is being created");
      }
    }
    old = it->second;
    store_.records().erase(it);
    Status s = store_.Save();
    if (!s.ok()) {
      store_.records()[key] = old;
      return s.Wrap("remove " + key);
    }
  }
  // Unlocked: the id is never handed out again, so nobody else touches this directory. A crash
  // here leaves an unreferenced directory that the next Open() deletes.
  return RemoveTree(SnapshotDir(old.id)).Wrap("remove snapshot " + key + " (metadata removed)");
}

Result<SnapshotChain> SnapshotCore::Get(const std::string& key) const {
  if (key.empty()) return InvalidArgument("snapshot key is empty");
  std::lock_guard lock(mu_);
  auto it = store_.records().find(key);
  if (it == store_.records().end()) return NotFound("snapshot " + key + ": not found");
  return ChainLocked(it->second);
}

Result<DiskUsage> SnapshotCore::Usage(const std::string& key, const std::string& subdir) const {
  Result<SnapshotChain> c = Get(key);
  if (!c.ok()) return c.status();
  Result<DiskUsage> u = TreeUsage(SnapshotDir(c->record.id) + "/" + subdir);
  if (!u.ok() && u.status().code() == StatusCode::kNotFound) {
    return NotFound("snapshot " + key + ": removed during usage");
  }
  return u;
}

std::vector<SnapshotRecord> SnapshotCore::Walk(
    const std::map<std::string, std::string>& filter) const {
  std::lock_guard lock(mu_);
  std::vector<SnapshotRecord> out;
  for (const auto& [name, r] : store_.records()) {
    bool match = true;
    for (const auto& [k, v] : filter) {
      auto l = r.labels.find(k);
      if (l == r.labels.end() || l->second != v) {
        match = false;
        break;
      }
    }
    if (match) out.push_back(r);
  }
  return out;
}

}  // namespace berth::snapshotter
