#include "cri/image/store/image_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

#include "common/fs.h"

namespace berth::image {
namespace {

void AddUnique(std::vector<std::string>& v, const std::string& s) {
  if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
}

void Erase(std::vector<std::string>& v, const std::string& s) {
  v.erase(std::remove(v.begin(), v.end(), s), v.end());
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string HexOf(const std::string& id) {
  size_t colon = id.find(':');
  return colon == std::string::npos ? id : id.substr(colon + 1);
}

}  // namespace

Result<std::unique_ptr<ImageStore>> ImageStore::Open(const std::string& root, Logger logger) {
  std::string dir = root + "/images";
  BERTH_RETURN_IF_ERROR(MakeDirs(dir, 0700).Wrap("image store"));
  std::unique_ptr<ImageStore> s(new ImageStore(dir, std::move(logger)));
  DIR* d = ::opendir(dir.c_str());
  if (!d) return ErrnoStatus(errno, "open " + dir);
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) names.push_back(e->d_name);
  ::closedir(d);
  for (const std::string& n : names) {
    if (n == "." || n == "..") continue;
    std::string path = dir + "/" + n;
    if (n[0] == '.') {  // an AtomicWriteFile temp file left by a crash
      ::unlink(path.c_str());
      continue;
    }
    auto text = ReadFile(path);
    auto j = text.ok() ? nlohmann::json::parse(*text, nullptr, false) : nlohmann::json();
    auto r = ImageRecord::FromJson(j);
    if (!r.ok()) {
      s->logger_.Error("skipping unreadable image record",
                       {{"path", path}, {"error", r.ok() ? "" : r.status().message()}});
      continue;
    }
    s->images_[r->id] = std::move(*r);
  }
  // A tag claimed twice (crash in the middle of a tag move) belongs to the newer record.
  std::map<std::string, std::string> owner;  // tag → id
  for (auto& [id, rec] : s->images_) {
    for (const std::string& t : std::vector<std::string>(rec.repo_tags)) {
      auto it = owner.find(t);
      if (it == owner.end()) {
        owner[t] = id;
        continue;
      }
      ImageRecord& other = s->images_[it->second];
      ImageRecord& loser = other.updated_unix_nano <= rec.updated_unix_nano ? other : rec;
      if (&loser == &other) it->second = id;
      Erase(loser.repo_tags, t);
      BERTH_RETURN_IF_ERROR(s->Write(loser));
    }
  }
  return s;
}

std::string ImageStore::PathFor(const std::string& id) const {
  return dir_ + "/" + HexOf(id) + ".json";
}

Status ImageStore::Write(const ImageRecord& r) const {
  return AtomicWriteFile(PathFor(r.id), r.ToJson().dump(), 0600).Wrap("image store");
}

Result<ImageRecord> ImageStore::Put(ImageRecord record) {
  std::lock_guard lock(mu_);
  record.updated_unix_nano = NowNanos();
  auto it = images_.find(record.id);
  if (it != images_.end()) {
    ImageRecord merged = std::move(record);
    for (const std::string& t : it->second.repo_tags) AddUnique(merged.repo_tags, t);
    for (const std::string& d : it->second.repo_digests) AddUnique(merged.repo_digests, d);
    for (const std::string& b : it->second.blobs) AddUnique(merged.blobs, b);
    for (const auto& [sn, chain] : it->second.snapshots) {
      if (!merged.snapshots.count(sn)) merged.snapshots[sn] = chain;
    }
    merged.pinned = merged.pinned || it->second.pinned;
    record = std::move(merged);
  }
  BERTH_RETURN_IF_ERROR(Write(record));
  images_[record.id] = record;
  // Move the tags away from other images (after the new record is durable).
  for (auto& [id, other] : images_) {
    if (id == record.id) continue;
    bool changed = false;
    for (const std::string& t : record.repo_tags) {
      if (Contains(other.repo_tags, t)) {
        Erase(other.repo_tags, t);
        changed = true;
      }
    }
    if (changed) {
      logger_.Info("tag moved", {{"from", id}, {"to", record.id}});
      BERTH_RETURN_IF_ERROR(Write(other));
    }
  }
  return record;
}

Result<bool> ImageStore::Remove(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = images_.find(id);
  if (it == images_.end()) return false;
  std::string path = PathFor(id);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return ErrnoStatus(errno, "remove " + path);
  int fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  images_.erase(it);
  return true;
}

std::optional<ImageRecord> ImageStore::Get(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = images_.find(id);
  if (it == images_.end()) return std::nullopt;
  return it->second;
}

std::optional<ImageRecord> ImageStore::FindByRef(const std::string& ref) const {
  std::lock_guard lock(mu_);
  for (const auto& [id, r] : images_) {
    if (Contains(r.repo_tags, ref) || Contains(r.repo_digests, ref)) return r;
  }
  return std::nullopt;
}

std::vector<std::string> ImageStore::IdsWithPrefix(const std::string& prefix) const {
  std::string hex = HexOf(prefix);
  std::vector<std::string> out;
  std::lock_guard lock(mu_);
  for (const auto& [id, r] : images_) {
    if (HexOf(id).compare(0, hex.size(), hex) == 0) out.push_back(id);
  }
  return out;
}

std::vector<ImageRecord> ImageStore::List() const {
  std::lock_guard lock(mu_);
  std::vector<ImageRecord> out;
  for (const auto& [id, r] : images_) out.push_back(r);
  return out;
}

}  // namespace berth::image
