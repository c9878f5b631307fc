#pragma once
// UnpackPipeline: unpacks one pull's layers, lowest first, while the fetcher still downloads
// the layers above them. Layer i is unpacked as soon as its blob is complete in the content
// store and layer i-1 is committed; the snapshot API admits no more parallelism than that
// (Prepare needs a committed parent), so download is what overlaps with unpack.
//
// The unpack itself runs `run` on a thread the pipeline owns; `run` calls the wait function it
// is given before layer i, which blocks until MarkReady reported that layer's digest (OK) or
// Cancel was called (the cancel status).
//
// Thread-safety: MarkReady and Cancel may be called from any thread; Wait once, from the owner.
// The destructor cancels and joins.

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "cri/image/digest.h"
#include "cri/image/manifest.h"

namespace berth::image {

class UnpackPipeline {
 public:
  using WaitFn = std::function<Status(size_t layer_index)>;
  using RunFn = std::function<Result<std::vector<std::string>>(const WaitFn& wait)>;

  // Starts `run` at once; `config_json` identifies which image this pipeline unpacks.
  UnpackPipeline(std::vector<Descriptor> layers, std::string config_json, RunFn run);
  UnpackPipeline(const UnpackPipeline&) = delete;
  UnpackPipeline& operator=(const UnpackPipeline&) = delete;
  ~UnpackPipeline();

  const std::string& config_json() const { return config_json_; }
  // The blob `digest` is complete and verified in the content store.
  void MarkReady(const Digest& digest);
  // Makes every pending and future wait fail with `why` (the unpack then stops).
  void Cancel(Status why);
  // Joins the unpack and returns its result: the chain ids, lowest first. Call once.
  Result<std::vector<std::string>> Wait();

 private:
  Status WaitFor(size_t index);

  const std::vector<Descriptor> layers_;
  const std::string config_json_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<bool> ready_;
  Status cancelled_;  // OK while not cancelled
  Result<std::vector<std::string>> result_ = Internal("unpack pipeline did not finish");
  std::thread thread_;
};

}  // namespace berth::image
