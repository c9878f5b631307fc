#pragma once
// ContainerStore: the durable records of CRI containers, one directory per container under
// <root>/containers/<id>/ holding record.json, written atomically (write+fsync+rename), so a
// crash leaves either the old or the new record.
//
// Not thread-safe by itself: the ContainerManager serialises calls per container id and
// never writes one id from two threads at once. Errors: NOT_FOUND for a missing record,
// DATA_LOSS for a corrupt one, others from the filesystem.

#include <string>
#include <vector>

#include "common/status.h"
#include "cri/container/container_record.h"

namespace berth::container {

class ContainerStore {
 public:
  explicit ContainerStore(std::string dir) : dir_(std::move(dir)) {}
  Status Init();  // creates the directory (0700)

  Status Put(const ContainerRecord& r);
  Result<ContainerRecord> Get(const std::string& id) const;
  Status Delete(const std::string& id);  // OK when absent
  // Every readable record; unreadable ones are returned by id in `bad` (caller logs them).
  // A directory without a record (a crash before the first Put completed) is removed.
  std::vector<ContainerRecord> LoadAll(std::vector<std::string>* bad) const;

 private:
  std::string Dir(const std::string& id) const { return dir_ + "/" + id; }
  std::string dir_;
};

}  // namespace berth::container
