#include "cri/container/container_store.h"

#include <filesystem>

#include "common/fs.h"

namespace berth::container {

namespace fs = std::filesystem;

Status ContainerStore::Init() { return MakeDirs(dir_, 0700).Wrap("container store"); }

Status ContainerStore::Put(const ContainerRecord& r) {
  BERTH_RETURN_IF_ERROR(MakeDirs(Dir(r.id), 0700));
  return AtomicWriteFile(Dir(r.id) + "/record.json", r.ToJson().dump(), 0600)
      .Wrap("write container record " + r.id);
}

Result<ContainerRecord> ContainerStore::Get(const std::string& id) const {
  Result<std::string> text = ReadFile(Dir(id) + "/record.json");
  if (!text.ok()) return text.status();
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded())
    return Status(StatusCode::kDataLoss, "container record " + id + " is corrupt");
  return ContainerRecord::FromJson(j);
}

Status ContainerStore::Delete(const std::string& id) {
  std::error_code ec;
  fs::remove_all(Dir(id), ec);
  if (ec) return Internal("remove container record " + id + ": " + ec.message());
  return OkStatus();
}

std::vector<ContainerRecord> ContainerStore::LoadAll(std::vector<std::string>* bad) const {
  std::vector<ContainerRecord> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    std::string id = e.path().filename();
    Result<ContainerRecord> r = Get(id);
    if (r.ok()) {
      out.push_back(std::move(*r));
    } else if (r.status().code() == StatusCode::kNotFound) {
      // No record.json: a crash between making the directory and the first record write
      // (nothing else of the container exists yet), or in the middle of Delete (the record is
      // removed last). Either way nothing to keep; before this the directory stayed forever
      // as an "unreadable record" (found by tests/integration/cri_crash_test).
      std::error_code rm;
      fs::remove_all(Dir(id), rm);
    } else if (bad) {
      bad->push_back(id);
    }
  }
  return out;
}

}  // namespace berth::container
